package kube

import (
	"context"
	"errors"
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

func TestCompareVersions(t *testing.T) {
	ordered := []string{"v1alpha1", "v1alpha2", "v1alpha10", "v1beta1", "v1beta3", "v1", "v2alpha1", "v2"}
	for i := range ordered {
		for j := range ordered {
			got := compareVersions(ordered[i], ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("compareVersions(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
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
