package localk8s

import (
	"errors"
	"strings"
	"testing"
)

// Without the Debian packages, the node's error is one line naming what to install.
func TestSystemNodeBinariesNamesMissingPackages(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := SystemNodeBinaries()
	if !errors.Is(err, ErrNodePackages) {
		t.Fatalf("err = %v, want ErrNodePackages", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "apt-get install containerd runc iptables iproute2") {
		t.Errorf("error is not one line naming the packages: %q", msg)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/a/b`: "/a/b", `/a\040b`: "/a b", `/x\011y\134z`: "/x\ty\\z"} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
