package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fakeTools puts kubectl and helm stand-ins first on PATH: each appends its command line to
// log and succeeds, printing nothing, except `kubectl ... get` which fails (nothing exists yet,
// so the script creates its Secrets). openssl stays the real one.
func fakeTools(t *testing.T) (path, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls.log")
	stub := `#!/bin/sh
echo "$(basename "$0") $*" >> ` + log + `
case "$(basename "$0") $*" in
  "kubectl get "*|"kubectl "*" get "*) exit 1 ;;
esac
exit 0
`
	for _, tool := range []string{"kubectl", "helm"} {
		if err := os.WriteFile(filepath.Join(dir, tool), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH"), log
}

func runScript(t *testing.T, script string, args ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not found: install it to test the scripts")
	}
	path, log := fakeTools(t)
	cmd := exec.Command(filepath.Join("linkerd", "scripts", script), args...)
	cmd.Env = append(os.Environ(), "PATH="+path, "CERTS_DIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// index returns the position of the first call matching re, failing when there is none.
func index(t *testing.T, calls []string, re string) int {
	t.Helper()
	r := regexp.MustCompile(re)
	for i, c := range calls {
		if r.MatchString(c) {
			return i
		}
	}
	t.Fatalf("no call matches %q in:\n%s", re, strings.Join(calls, "\n"))
	return -1
}

// TestInstallScript runs install-linkerd.sh against stand-in kubectl and helm and checks the
// install is ordered and pinned: Gateway API CRDs first, then linkerd-crds, the control plane
// with the generated certificates, viz, tracing and logs, smi (only when asked), Traefik,
// Grafana and egress; every chart at the version in versions.env.
func TestInstallScript(t *testing.T) {
	v := versions(t)
	for _, tc := range []struct {
		name string
		args []string
		ha   bool
		smi  bool
	}{
		{"default", nil, false, false},
		{"ha and smi", []string{"--ha", "--smi"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := runScript(t, "install-linkerd.sh", tc.args...)
			order := []int{
				index(t, calls, `^kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/`+regexp.QuoteMeta(v["GATEWAY_API_VERSION"])+`/experimental-install.yaml$`),
				index(t, calls, `^helm upgrade --install linkerd-crds linkerd-edge/linkerd-crds --version `+regexp.QuoteMeta(v["LINKERD_CHART_VERSION"])+` `),
				index(t, calls, `^helm upgrade --install linkerd-control-plane linkerd-edge/linkerd-control-plane --version `+regexp.QuoteMeta(v["LINKERD_CHART_VERSION"])+` .*--set-file identityTrustAnchorsPEM=.*/ca.crt .*identity.issuer.tls.keyPEM=.*/issuer.key`),
				index(t, calls, `^helm upgrade --install linkerd-viz linkerd-edge/linkerd-viz --version `+regexp.QuoteMeta(v["LINKERD_CHART_VERSION"])+` `),
				index(t, calls, `^kubectl apply --server-side -k .*/observability$`),
				index(t, calls, `^kubectl -n traefik create secret tls emojivoto-tls --cert .*/tls.crt --key .*/tls.key$`),
				index(t, calls, `^helm upgrade --install traefik traefik/traefik --version `+regexp.QuoteMeta(v["TRAEFIK_CHART_VERSION"])+` `),
				index(t, calls, `^kubectl apply --server-side -f .*/ingress/gateway.yaml$`),
				index(t, calls, `^helm upgrade --install grafana grafana/grafana --version `+regexp.QuoteMeta(v["GRAFANA_CHART_VERSION"])+` `),
				index(t, calls, `^kubectl apply --server-side -f .*/egress/emojivoto-egress.yaml$`),
			}
			for i := 1; i < len(order); i++ {
				if order[i] <= order[i-1] {
					t.Errorf("step %d ran before step %d:\n%s", i, i-1, strings.Join(calls, "\n"))
				}
			}
			cp := calls[order[2]]
			if got := strings.Contains(cp, "linkerd-control-plane-ha.yaml"); got != tc.ha {
				t.Errorf("HA values used = %v, want %v: %s", got, tc.ha, cp)
			}
			smi := strings.Contains(strings.Join(calls, "\n"), "helm upgrade --install linkerd-smi linkerd-smi/linkerd-smi --version "+v["LINKERD_SMI_CHART_VERSION"]+" ")
			if smi != tc.smi {
				t.Errorf("linkerd-smi installed = %v, want %v", smi, tc.smi)
			}
			for _, c := range calls {
				if strings.HasPrefix(c, "helm upgrade") && !strings.Contains(c, " --version ") {
					t.Errorf("unpinned chart: %s", c)
				}
			}
		})
	}
}

// TestUninstallScript checks the teardown runs in reverse: the app's namespace goes first, so
// no meshed pod outlives the control plane, and linkerd-crds last.
func TestUninstallScript(t *testing.T) {
	calls := runScript(t, "uninstall.sh")
	app := index(t, calls, `^kubectl delete namespace emojivoto `)
	cp := index(t, calls, `^helm uninstall linkerd-control-plane `)
	crds := index(t, calls, `^helm uninstall linkerd-crds `)
	if !(app < cp && cp < crds) {
		t.Errorf("order app %d, control plane %d, crds %d; want increasing:\n%s", app, cp, crds, strings.Join(calls, "\n"))
	}
	// The collector is meshed: it goes before the control plane that identifies it.
	if obs := index(t, calls, `^kubectl delete -k .*/observability --ignore-not-found$`); !(app < obs && obs < cp) {
		t.Errorf("observability removed at %d, want between the app (%d) and the control plane (%d)", obs, app, cp)
	}
	for _, c := range calls {
		if strings.Contains(c, "gateway-api") {
			t.Errorf("Gateway API CRDs removed without --crds: %s", c)
		}
	}
}
