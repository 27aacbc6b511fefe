package localk8s

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a running etcd + kube-apiserver pair.
type Cluster struct {
	// Dir holds logs, PID files, certificates and the kubeconfig.
	Dir string
	// Kubeconfig is the path of an admin kubeconfig for the cluster (context "trafficctl-local").
	Kubeconfig string
	// Config is the admin REST config.
	Config *rest.Config
	// Server is the API server URL.
	Server string
	// Port is the API server's port; CAFile its serving certificate (the CA for clients).
	Port   int
	CAFile string
	// ForNode is set when the cluster was started with Options.ForNode (see StartNode).
	ForNode bool
	// EtcdURL is etcd's client URL: TLS, admitting only the API server's client certificate.
	EtcdURL string
}

// ContextName is the kubeconfig context written for a local cluster.
const ContextName = "trafficctl-local"

// Options for Start.
type Options struct {
	// Dir is the work directory; it is created if missing. Any servers recorded there by an
	// earlier run (a crash) are stopped first.
	Dir      string
	Binaries Binaries
	Lifetime Lifetime
	// Ready bounds the wait for the API server; 0 means 60 s.
	Ready time.Duration
	// ForNode prepares the API server for a node (StartNode): it listens on all addresses, so
	// pods reach it through the node's bridge, and admits pods with ServiceAccount tokens.
	ForNode bool
}

// Start runs etcd and kube-apiserver on free 127.0.0.1 ports and waits until the API server is
// ready. On any failure it stops what it started.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	if o.Ready == 0 {
		o.Ready = 60 * time.Second
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Dir, err)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", o.Dir, err)
	}
	if err := StopDir(dir); err != nil {
		return nil, fmt.Errorf("stop servers left in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = StopDir(dir)
		}
	}()
	// Ports can be taken between FreePort and bind; a few attempts make that harmless.
	for attempt := 1; ; attempt++ {
		c, err = start(ctx, dir, o)
		if err == nil || attempt == 3 || ctx.Err() != nil {
			return c, err
		}
		_ = StopDir(dir)
	}
}

func start(ctx context.Context, dir string, o Options) (*Cluster, error) {
	ports := make([]int, 3)
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	etcdURL, pki, err := startEtcd(ctx, dir, o, ports[0], ports[1])
	if err != nil {
		return nil, err
	}

	token, err := writeCredentials(dir)
	if err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, "certs")
	if err := os.RemoveAll(certDir); err != nil {
		return nil, fmt.Errorf("clean certificates: %w", err)
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	bind, admission := "127.0.0.1", "--disable-admission-plugins=ServiceAccount"
	if o.ForNode {
		// Pods reach the API server at the node's bridge address (the kubernetes Service's
		// endpoint, see StartNode), and kube-controller-manager creates the ServiceAccounts.
		bind, admission = "0.0.0.0", "--enable-admission-plugins=ServiceAccount"
	}
	if _, err := startProcess(dir, "kube-apiserver", o.Lifetime, o.Binaries.APIServer, append(pki.apiServerArgs(),
		"--etcd-servers="+etcdURL,
		"--bind-address="+bind, "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]),
		"--cert-dir="+certDir,
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		// No controllers run here without a node: no endpoint reconciler (it warns about
		// loopback every 10 s) and no ServiceAccount admission (nothing creates default
		// ServiceAccounts).
		"--endpoint-reconciler-type=none",
		admission,
		"--allow-privileged=true",
		// A node's name does not resolve: reach kubelets (logs, exec) by their InternalIP.
		"--kubelet-preferred-address-types=InternalIP",
	)...); err != nil {
		return nil, err
	}
	caFile := filepath.Join(certDir, "apiserver.crt")
	if err := waitAPIServer(ctx, dir, server, caFile, token, o.Ready); err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read API server certificate: %w", err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, server, ca, token); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return &Cluster{Dir: dir, Kubeconfig: kubeconfig, Config: cfg, Server: server, Port: ports[2], CAFile: caFile, ForNode: o.ForNode, EtcdURL: etcdURL}, nil
}

// startEtcd starts etcd on the client and peer ports, TLS with client certificates required
// (see etcdPKI), and waits until it is healthy. It returns the client URL.
func startEtcd(ctx context.Context, dir string, o Options, clientPort, peerPort int) (string, *etcdPKI, error) {
	pki, err := writeEtcdPKI(dir)
	if err != nil {
		return "", nil, err
	}
	etcdURL := fmt.Sprintf("https://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("https://127.0.0.1:%d", peerPort)
	dataDir := filepath.Join(dir, "etcd-data")
	if err := os.RemoveAll(dataDir); err != nil {
		return "", nil, fmt.Errorf("clean etcd data: %w", err)
	}
	if _, err := startProcess(dir, "etcd", o.Lifetime, o.Binaries.Etcd, append([]string{
		"--name", "trafficctl", "--data-dir", dataDir,
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "trafficctl=" + peerURL,
		"--logger", "zap", "--log-level", "warn",
		// Test data is throwaway: skipping fsync makes etcd several times faster on slow disks.
		"--unsafe-no-fsync"}, pki.etcdArgs()...)...); err != nil {
		return "", nil, err
	}
	tlsConfig, err := pki.clientTLS()
	if err != nil {
		return "", nil, err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	if err := waitHTTP(ctx, client, etcdURL+"/health", "", 10*time.Second); err != nil {
		return "", nil, fmt.Errorf("etcd did not become healthy: %w (log: %s)", err, filepath.Join(dir, "etcd.log"))
	}
	return etcdURL, pki, nil
}

// Stop stops the cluster's servers.
func (c *Cluster) Stop() error { return StopDir(c.Dir) }

// writeCredentials creates the service-account signing key pair and a static admin token.
func writeCredentials(dir string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("generate service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", fmt.Errorf("encode service-account key: %w", err)
	}
	files := map[string][]byte{
		"sa.key": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	token := hex.EncodeToString(raw)
	files["tokens.csv"] = []byte(token + ",admin,admin-uid,system:masters\n")
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
	}
	return token, nil
}

func waitAPIServer(ctx context.Context, dir, server, caFile, token string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if ca, err := os.ReadFile(caFile); err == nil && len(ca) > 0 {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(ca) {
				client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
				return waitHTTP(ctx, client, server+"/readyz", token, time.Until(deadline))
			}
		}
		if !Alive(PIDOf(dir, "kube-apiserver")) {
			return fmt.Errorf("kube-apiserver exited: %s", LogTail(filepath.Join(dir, "kube-apiserver.log"), 10))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("kube-apiserver not ready after %s: %s", limit, LogTail(filepath.Join(dir, "kube-apiserver.log"), 10))
}

func waitHTTP(ctx context.Context, client *http.Client, url, token string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.Join(fmt.Errorf("%s not ready after %s", url, limit), last)
}

func writeKubeconfig(path, server string, ca []byte, token string) error {
	// The serving certificate covers 127.0.0.1, not "localhost": the server URL must be the IP.
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    certificate-authority-data: %[3]s
users:
- name: admin
  user:
    token: %[4]s
contexts:
- name: %[1]s
  context: {cluster: %[1]s, user: admin, namespace: default}
current-context: %[1]s
`, ContextName, server, base64.StdEncoding.EncodeToString(ca), token)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// PIDOf reads the PID recorded in dir/name.pid; 0 when there is none.
func PIDOf(dir, name string) int {
	b, err := os.ReadFile(filepath.Join(dir, name+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// LogTail returns the last n lines of a log file, joined, for error messages.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
