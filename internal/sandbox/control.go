package sandbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trafficctl/trafficctl/internal/sandbox/demoapp"
	"github.com/trafficctl/trafficctl/internal/sandbox/proxy"
)

// SetBehaviour changes the fault knobs of a demo app Deployment's replicas while they run: all
// of them, or only replica index when index >= 0. target is a Deployment (web-v1, web-v2, emoji,
// voting) or the Service of a single-version one (emoji-svc, voting-svc). It returns the
// replicas changed; an unknown target or replica is ErrBadInput, naming the valid ones.
func SetBehaviour(ctx context.Context, st *State, target string, index int, b demoapp.Behaviour) ([]string, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	targets := Targets(st)
	var replicas []Component
	for _, t := range targets {
		if t.Deployment == target || t.Service == target {
			replicas = t.Replicas
		}
	}
	if replicas == nil {
		return nil, fmt.Errorf("%w: unknown target %q: the sandbox's demo app has %s", ErrBadInput, target, describeTargets(targets))
	}
	if index >= len(replicas) {
		return nil, fmt.Errorf("%w: %s has %d replica(s), %s: --replica %d is none of them", ErrBadInput, target, len(replicas), replicaRange(len(replicas)), index)
	}
	if index >= 0 {
		replicas = replicas[index : index+1]
	}
	var names []string
	for _, c := range replicas {
		q := url.Values{"failureRate": {strconv.FormatFloat(b.FailureRate, 'g', -1, 64)}, "delay": {b.Delay.String()}}
		if _, err := post(ctx, "http://"+adminOf(c)+demoapp.AdminPath+"?"+q.Encode()); err != nil {
			return names, fmt.Errorf("set %s: %w", c.Name, err)
		}
		names = append(names, c.Name)
	}
	return names, nil
}

// Target is a demo app Deployment whose knobs `sandbox set` changes.
type Target struct {
	Deployment string
	// Service is the Service of a single-version Deployment (emoji-svc), accepted as its name;
	// empty for web's versions, whose Service (web-svc) fronts both.
	Service string
	// Replicas are its processes, replica i first.
	Replicas []Component
}

// Targets lists the sandbox's demo app Deployments in start order: emoji, voting, web-v1, web-v2.
func Targets(st *State) []Target {
	var out []Target
	for _, c := range st.Components {
		dep := deploymentOf(c)
		if dep == "" {
			continue
		}
		i := slices.IndexFunc(out, func(t Target) bool { return t.Deployment == dep })
		if i < 0 {
			t := Target{Deployment: dep}
			if c.Kind != KindWeb {
				t.Service = c.Name
			}
			out, i = append(out, t), len(out)
		}
		out[i].Replicas = append(out[i].Replicas, c)
	}
	return out
}

// deploymentOf is a component's Deployment; states saved before Component.Deployment existed
// name web replicas DEPLOYMENT-i and have no other targets.
func deploymentOf(c Component) string {
	switch {
	case c.Deployment != "":
		return c.Deployment
	case c.Kind == KindWeb:
		return c.Name[:strings.LastIndex(c.Name, "-")]
	}
	return ""
}

// adminOf is where a replica's knobs are: web serves them on its own port.
func adminOf(c Component) string {
	if c.Admin != "" {
		return c.Admin
	}
	return c.Addr
}

func describeTargets(ts []Target) string {
	var parts []string
	for _, t := range ts {
		var names []string
		for _, c := range t.Replicas {
			names = append(names, c.Name)
		}
		parts = append(parts, fmt.Sprintf("%s (%s: %s)", t.Deployment, replicaRange(len(t.Replicas)), strings.Join(names, ", ")))
	}
	return strings.Join(parts, ", ")
}

func replicaRange(n int) string {
	if n == 1 {
		return "replica 0"
	}
	return fmt.Sprintf("replicas 0-%d", n-1)
}

// SetBalance changes the data plane's replica balancing.
func SetBalance(ctx context.Context, st *State, b proxy.Balance) error {
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
