package kube

import (
	"maps"
	"strings"
	"testing"
)

func TestLegacyKeys(t *testing.T) {
	for key, old := range legacyKeys {
		if !strings.Contains(key, Domain+"/") || strings.Contains(old, Domain) {
			t.Errorf("legacy pair %q -> %q: new key must be in %s, old one not", key, old, Domain)
		}
		m := map[string]string{old: "old"}
		if v, ok := Get(m, key); !ok || v != "old" {
			t.Errorf("Get(%q) on legacy spelling = %q, %v; want old, true", key, v, ok)
		}
		m[key] = "new"
		if v := Value(m, key); v != "new" {
			t.Errorf("Value(%q) with both spellings = %q; want new", key, v)
		}
		m = Set(m, key, "newer")
		if want := map[string]string{key: "newer"}; !maps.Equal(m, want) {
			t.Errorf("Set(%q) = %v; want %v", key, m, want)
		}
		m[old] = "old"
		Delete(m, key)
		if len(m) != 0 {
			t.Errorf("Delete(%q) left %v", key, m)
		}
	}
	if _, ok := Get(map[string]string{"trafficctl.io/canary-apex": "x"}, LabelCanaryApex); ok {
		t.Error("Get found a legacy spelling for a key that never had one")
	}
	if m := Set(nil, LabelCanaryApex, "web"); m[LabelCanaryApex] != "web" {
		t.Errorf("Set(nil) = %v", m)
	}
}
