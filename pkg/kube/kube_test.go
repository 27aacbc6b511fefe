package kube

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

func TestParseDryRun(t *testing.T) {
	tests := []struct {
		in      string
		want    DryRun
		wantErr bool
	}{
		{"", DryRunNone, false},
		{"none", DryRunNone, false},
		{"client", DryRunClient, false},
		{"server", DryRunServer, false},
		{"true", "", true},
		{"Server", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDryRun(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseDryRun(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestServedVersionsOrder(t *testing.T) {
	kinds := map[string][]string{}
	for _, v := range []string{"v1alpha1", "v2", "v1beta1", "v1alpha10", "v1", "v1beta3", "v2alpha1", "v1alpha2"} {
		kinds[v] = []string{"HTTPRoute"}
	}
	s := &Served{kinds: map[string]map[string][]string{"g": kinds}, preferred: map[string]string{"g": "v1beta1"}}
	got := s.Versions("g", "HTTPRoute")
	want := []string{"v1beta1", "v2", "v1", "v1beta3", "v2alpha1", "v1alpha10", "v1alpha2", "v1alpha1"}
	if !slices.Equal(got, want) {
		t.Errorf("Versions = %v, want %v", got, want)
	}
}

func TestUnreachableClusterNamesServerAndContext(t *testing.T) {
	// Port 1 on loopback refuses connections at once.
	c, err := NewClientsForConfig(&rest.Config{Host: "https://127.0.0.1:1"}, "", false, "prod-eu")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Discover(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Discover against a closed port: err = %v, want ErrUnreachable", err)
	}
	for _, want := range []string{"https://127.0.0.1:1", "prod-eu", "--context"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if c.Namespace != "default" {
		t.Errorf("namespace = %q, want default when none is configured", c.Namespace)
	}
}
