package demoapp

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Behaviour is a component's fault knobs, Emojivoto's FAILURE_RATE and ARTIFICIAL_DELAY.
type Behaviour struct {
	// FailureRate is the fraction of requests answered with an error (0..1).
	FailureRate float64 `json:"failureRate"`
	// Delay is added to every request.
	Delay time.Duration `json:"delay"`
}

// Validate checks the knobs' ranges.
func (b Behaviour) Validate() error {
	if b.FailureRate < 0 || b.FailureRate > 1 {
		return fmt.Errorf("failure rate %v is out of range: use 0 to 1", b.FailureRate)
	}
	if b.Delay < 0 {
		return fmt.Errorf("delay %s is negative", b.Delay)
	}
	return nil
}

// Knobs holds a Behaviour that can change while the component runs.
type Knobs struct {
	mu sync.Mutex
	b  Behaviour
}

// NewKnobs starts with b.
func NewKnobs(b Behaviour) *Knobs { return &Knobs{b: b} }

// Get returns the current behaviour.
func (k *Knobs) Get() Behaviour {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.b
}

// Set replaces the behaviour.
func (k *Knobs) Set(b Behaviour) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.b = b
}

// apply waits the delay and reports whether this request must fail.
func (k *Knobs) apply(stop <-chan struct{}) bool {
	b := k.Get()
	if b.Delay > 0 {
		t := time.NewTimer(b.Delay)
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
		}
	}
	return b.FailureRate > 0 && rand.Float64() < b.FailureRate
}

// AdminPath is where a web replica shows (GET) and changes (POST ?failureRate=0.3&delay=200ms)
// its knobs.
const AdminPath = "/admin/behaviour"

// ServeHTTP implements the admin endpoint.
func (k *Knobs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		b := k.Get()
		q := r.URL.Query()
		if v := q.Get("failureRate"); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				http.Error(w, "failureRate: "+err.Error(), http.StatusBadRequest)
				return
			}
			b.FailureRate = f
		}
		if v := q.Get("delay"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				http.Error(w, "delay: "+err.Error(), http.StatusBadRequest)
				return
			}
			b.Delay = d
		}
		if err := b.Validate(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		k.Set(b)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(k.Get())
}
