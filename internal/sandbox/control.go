package sandbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trafficctl/trafficctl/internal/dataplane"
	"github.com/trafficctl/trafficctl/internal/demoapp"
)

// SetBehaviour changes the fault knobs of a web version's replicas while they run: all of
// them, or only replica index when index >= 0. It returns the replicas changed.
func SetBehaviour(ctx context.Context, st *State, deployment string, index int, b demoapp.Behaviour) ([]string, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	var names []string
	var known []string
	for _, c := range st.Components {
		if c.Kind != KindWeb {
			continue
		}
		dep := c.Name[:strings.LastIndex(c.Name, "-")]
		known = append(known, c.Name)
		if dep != deployment || (index >= 0 && c.Name != fmt.Sprintf("%s-%d", deployment, index)) {
			continue
		}
		q := url.Values{"failureRate": {strconv.FormatFloat(b.FailureRate, 'g', -1, 64)}, "delay": {b.Delay.String()}}
		if _, err := post(ctx, "http://"+c.Addr+demoapp.AdminPath+"?"+q.Encode()); err != nil {
			return names, fmt.Errorf("set %s: %w", c.Name, err)
		}
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no replica %s (index %d) in the sandbox: it has %s", ErrBadInput, deployment, index, strings.Join(known, ", "))
	}
	return names, nil
}

// SetBalance changes the data plane's replica balancing.
func SetBalance(ctx context.Context, st *State, b dataplane.Balance) error {
	_, err := post(ctx, "http://"+st.Metrics+BalancePath+"?mode="+url.QueryEscape(string(b)))
	return err
}

func post(ctx context.Context, u string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w (is the sandbox running? see `trafficctl sandbox status`)", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}
