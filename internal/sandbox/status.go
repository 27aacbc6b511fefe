package sandbox

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/sandbox/demoapp"
)

// ComponentStatus is one process as `sandbox status` shows it.
type ComponentStatus struct {
	Component
	PID int `json:"pid"`
	// Healthy is true when the process runs and answers its health check.
	Healthy bool   `json:"healthy"`
	Detail  string `json:"detail"`
}

// Status checks every component of the sandbox in dir.
func Status(ctx context.Context, dir string) (*State, []ComponentStatus, error) {
	st, err := Load(dir)
	if err != nil {
		return nil, nil, err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// Only the API server is HTTPS; its liveness matters here, not its identity.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	out := make([]ComponentStatus, 0, len(st.Components))
	for _, c := range st.Components {
		s := ComponentStatus{Component: c, PID: localk8s.PIDOf(filepath.Join(dir, c.Group), c.Name)}
		if c.Name == "etcd" && s.PID > 0 {
			s.Addr, s.Health = etcdURL(s.PID)
		}
		s.Healthy, s.Detail = check(ctx, client, s)
		out = append(out, s)
	}
	return st, out, nil
}

func check(ctx context.Context, client *http.Client, s ComponentStatus) (bool, string) {
	if s.PID == 0 || !localk8s.Alive(s.PID) {
		return false, "not running"
	}
	switch {
	case s.Kind == KindEmoji || s.Kind == KindVoting:
		service := demoapp.EmojiService
		if s.Kind == KindVoting {
			service = demoapp.VotingService
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := demoapp.Check(ctx, s.Addr, service); err != nil {
			return false, err.Error()
		}
		return true, "ok"
	case strings.HasPrefix(s.Health, "tcp://"):
		conn, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", strings.TrimPrefix(s.Health, "tcp://"))
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, "accepting connections"
	case s.Health != "":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Health, nil)
		if err != nil {
			return false, err.Error()
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		// The API server answers 401 to an anonymous /readyz when it is up: alive enough.
		if resp.StatusCode == http.StatusOK || (s.Name == "kube-apiserver" && resp.StatusCode == http.StatusUnauthorized) {
			return true, "ok"
		}
		return false, "health check answered " + resp.Status
	}
	return true, "running"
}

// etcdURL reads etcd's client URL from its command line: the sandbox does not record it. etcd
// admits only the API server's client certificate, so its health is "accepting connections".
func etcdURL(pid int) (addr, health string) {
	args := cmdline(pid)
	for i, a := range args {
		u, ok := strings.CutPrefix(a, "--listen-client-urls=")
		if !ok && a == "--listen-client-urls" && i+1 < len(args) {
			u, ok = args[i+1], true
		}
		if ok {
			addr = u
			if _, rest, found := strings.Cut(u, "://"); found {
				addr = rest
			}
			return addr, "tcp://" + addr
		}
	}
	return "", ""
}

// Summary is a one-line health verdict.
func Summary(ss []ComponentStatus) (healthy bool, line string) {
	bad := 0
	for _, s := range ss {
		if !s.Healthy {
			bad++
		}
	}
	if bad == 0 {
		return true, fmt.Sprintf("all %d components healthy", len(ss))
	}
	return false, fmt.Sprintf("%d of %d components unhealthy: run `trafficctl sandbox up` again to restart the sandbox (logs in each component's .log file)", bad, len(ss))
}
