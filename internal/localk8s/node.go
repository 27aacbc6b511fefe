package localk8s

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// A Node is a real Kubernetes node next to a Cluster: containerd (restrict_oom_score_adj,
// its own root, state, socket and CNI config) running pods on a CNI bridge, the kubelet, and
// the control loops a node needs to be useful (kube-controller-manager, kube-scheduler,
// kube-proxy in iptables mode for ClusterIP Services, cluster-dns for Service names).
//
// One node runs per machine at a time (they share iptables chains and the bridge): StartNode
// waits for a machine-wide lock, and cleans up after a node whose process died (its pods'
// containers, mounts and bridge). It needs root.
type Node struct {
	Name string
	// Dir holds the node's configs, logs (one per component), state and PID files.
	Dir string
	// IP is the node's address: the bridge's gateway, where the kubelet, cluster DNS and (for
	// pods) the API server are reached.
	IP string
	// PodCIDR is the bridge's subnet; pods get addresses from it.
	PodCIDR string
	// Socket is containerd's socket.
	Socket string

	bins    NodeBinaries
	cluster *Cluster
	client  kubernetes.Interface
	lock    *os.File
	life    Lifetime
}

// NodeOptions configures StartNode.
type NodeOptions struct {
	// Dir is the node's work directory; default Cluster.Dir/node.
	Dir      string
	Binaries NodeBinaries
	Lifetime Lifetime
	// Name is the Node's name; default "trafficctl-node".
	Name string
	// Images are OCI image tarballs imported into containerd before the kubelet starts.
	Images []string
	// Ready bounds the wait for the node to be Ready; 0 means 3 minutes.
	Ready time.Duration
	// Log gets progress lines; nil discards them.
	Log io.Writer
}

// The node's network: the bridge, its subnet and gateway (the node's IP). Fixed, since one node
// runs per machine.
const (
	NodeBridge  = "trafficctl0"
	NodePodCIDR = "10.217.0.0/24"
	NodeIP      = "10.217.0.1"
	nodeLock    = "/run/lock/trafficctl-node.lock"
)

// StartNode starts a node for c, which must have been started with Options.ForNode. On
// failure it stops and cleans up what it started.
func StartNode(ctx context.Context, c *Cluster, o NodeOptions) (n *Node, err error) {
	if !c.ForNode {
		return nil, errors.New("start node: the cluster was not started with Options.ForNode")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("start node: a node needs root (containerd, CNI bridge, iptables)")
	}
	if o.Dir == "" {
		o.Dir = filepath.Join(c.Dir, "node")
	}
	if o.Name == "" {
		o.Name = "trafficctl-node"
	}
	if o.Ready == 0 {
		o.Ready = 3 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	n = &Node{Name: o.Name, Dir: dir, IP: NodeIP, PodCIDR: NodePodCIDR, Socket: filepath.Join(dir, "containerd.sock"),
		bins: o.Binaries, cluster: c, client: client, life: o.Lifetime}
	if n.lock, err = lockNode(ctx, dir, o.Log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = n.Stop()
		}
	}()
	start := time.Now()
	if err := n.startContainerd(ctx); err != nil {
		return n, err
	}
	if err := n.setupBridge(); err != nil {
		return n, err
	}
	if err := n.ImportImages(ctx, append([]string{o.Binaries.Pause}, o.Images...)...); err != nil {
		return n, err
	}
	if err := n.kubernetesEndpoint(ctx); err != nil {
		return n, err
	}
	if err := n.startComponents(); err != nil {
		return n, err
	}
	if err := n.waitReady(ctx, o.Ready); err != nil {
		return n, err
	}
	fmt.Fprintf(o.Log, "node %s Ready after %s (pods on %s, DNS and API server for pods at %s)\n", n.Name, time.Since(start).Round(100*time.Millisecond), n.PodCIDR, n.IP)
	return n, nil
}

// lockNode takes the machine-wide node lock (waiting while another node runs) and cleans up
// after a node whose process died without stopping it.
func lockNode(ctx context.Context, dir string, log io.Writer) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(nodeLock), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(nodeLock, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open node lock: %w", err)
	}
	waited := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", nodeLock, err)
		}
		if !waited {
			fmt.Fprintf(log, "another node runs on this machine; waiting for it (%s)\n", nodeLock)
			waited = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for the node lock %s: %w", nodeLock, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	prev, _ := io.ReadAll(f)
	if prevDir := strings.TrimSpace(string(prev)); prevDir != "" {
		if prevDir != dir && Running(prevDir) {
			f.Close()
			return nil, fmt.Errorf("a node started from %s still runs: stop it first (scripts/testenv.sh down)", prevDir)
		}
		cleanupNode(prevDir)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(dir+"\n"), 0)
	}
	return f, nil
}

func (n *Node) path(parts ...string) string {
	return filepath.Join(append([]string{n.Dir}, parts...)...)
}

func (n *Node) startContainerd(ctx context.Context) error {
	for _, d := range []string{"containerd/root", "containerd/state", "containerd/opt", "runc", "cni", "cni-state"} {
		if err := os.MkdirAll(n.path(d), 0o755); err != nil {
			return err
		}
	}
	conflist := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "trafficctl",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q, "gateway": %q}]],
              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, NodeBridge, NodePodCIDR, NodeIP, n.path("cni-state"))
	if err := os.WriteFile(n.path("cni", "10-trafficctl.conflist"), []byte(conflist), 0o644); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  # This machine forbids lowering oom_score_adj, even as root: without this every sandbox
  # fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = %[7]q
        Root = %[8]q
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[9]q
    conf_dir = %[10]q
    max_conf_num = 1
`, n.path("containerd", "root"), n.path("containerd", "state"), n.Socket, n.Socket+".ttrpc", n.path("containerd", "opt"),
		PauseImage, n.bins.Runc, n.path("runc"), n.bins.CNIDir, n.path("cni"))
	if err := os.WriteFile(n.path("containerd.toml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	if _, err := startProcess(n.Dir, "containerd", n.life, n.bins.Containerd, "--config", n.path("containerd.toml")); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := n.ctr(ctx, "version"); err == nil {
			return nil
		} else if time.Now().After(deadline) || !Alive(PIDOf(n.Dir, "containerd")) {
			return fmt.Errorf("containerd did not start: %v: %s", err, LogTail(n.path("containerd.log"), 10))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (n *Node) ctr(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.bins.Ctr, append([]string{"--address", n.Socket, "--namespace", "k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ImportImages loads OCI image tarballs (ociimage.WriteTarball, `make images`) into the node's
// containerd under the names in their io.containerd.image.name annotation. Pods use them with
// imagePullPolicy IfNotPresent or Never.
func (n *Node) ImportImages(ctx context.Context, tarballs ...string) error {
	for _, t := range tarballs {
		if _, err := n.ctr(ctx, "images", "import", "--snapshotter", "overlayfs", "--no-unpack=false", t); err != nil {
			return fmt.Errorf("import %s: %w", t, err)
		}
	}
	return nil
}

// setupBridge creates the pods' bridge with the node's address before any pod exists, so the
// kubelet, cluster DNS and the API server endpoint for pods can use the address at once.
func (n *Node) setupBridge() error {
	_ = exec.Command("ip", "link", "delete", NodeBridge).Run()
	for _, args := range [][]string{
		{"link", "add", "name", NodeBridge, "type", "bridge"},
		{"addr", "add", NodeIP + "/24", "dev", NodeBridge},
		{"link", "set", NodeBridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	// Pods reach Services on other pods through the host: forwarding must be on.
	_ = os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	return nil
}

// kubernetesEndpoint points the kubernetes Service at the API server as pods reach it (the
// API server runs no endpoint reconciler: it advertises 127.0.0.1, which means the pod itself
// inside a pod).
func (n *Node) kubernetesEndpoint(ctx context.Context) error {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{
			discoveryv1.LabelServiceName: "kubernetes",
			discoveryv1.LabelManagedBy:   "localk8s.trafficctl.io",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{n.IP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(int32(n.cluster.Port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	_, err := n.client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = n.client.DiscoveryV1().EndpointSlices("default").Update(ctx, slice, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("create the kubernetes Service's endpoints: %w", err)
	}
	return nil
}

func (n *Node) startComponents() error {
	ports := make([]int, 6)
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	kc := n.cluster.Kubeconfig
	kubelet := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]s
port: %[2]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[3]d
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://%[4]s
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
failCgroupV1: false
oomScoreAdj: 0
resolvConf: ""
clusterDNS: [%[1]s]
clusterDomain: cluster.local
podLogsDir: %[5]s
localStorageCapacityIsolation: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
serializeImagePulls: false
# Otherwise the kubelet leaves its iptables canary and firewall chains behind.
makeIPTablesUtilChains: false
volumePluginDir: %[6]s
`, n.IP, ports[0], ports[1], n.Socket, n.path("pod-logs"), n.path("volume-plugins"))
	proxy := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %[1]q}
mode: iptables
hostnameOverride: %[2]s
clusterCIDR: %[3]s
healthzBindAddress: 127.0.0.1:%[4]d
metricsBindAddress: 127.0.0.1:%[5]d
oomScoreAdj: 0
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {masqueradeAll: true, syncPeriod: 10s, minSyncPeriod: 0s}
# NodePorts only on the node's own address: not on the machine's other interfaces or loopback
# (which would need route_localnet).
nodePortAddresses: [primary]
`, kc, n.Name, NodePodCIDR, ports[2], ports[3])
	for name, body := range map[string]string{"kubelet.yaml": kubelet, "kube-proxy.yaml": proxy} {
		if err := os.WriteFile(n.path(name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	for _, d := range []string{"pod-logs", "volume-plugins", "kubelet"} {
		if err := os.MkdirAll(n.path(d), 0o755); err != nil {
			return err
		}
	}
	cd := n.cluster.Dir
	starts := []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", []string{"--kubeconfig=" + kc, "--leader-elect=false",
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports[4]),
			"--root-ca-file=" + n.cluster.CAFile,
			"--service-account-private-key-file=" + filepath.Join(cd, "sa.key"),
			"--use-service-account-credentials=false",
			"--cluster-name=trafficctl", "--controllers=*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller"}},
		{"kube-scheduler", []string{"--kubeconfig=" + kc, "--leader-elect=false",
			"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports[5])}},
		{"kube-proxy", []string{"--config=" + n.path("kube-proxy.yaml")}},
		{"cluster-dns", []string{"--kubeconfig=" + kc, "--listen=" + net.JoinHostPort(n.IP, "53")}},
		{"kubelet", []string{"--config=" + n.path("kubelet.yaml"), "--kubeconfig=" + kc,
			"--root-dir=" + n.path("kubelet"), "--cert-dir=" + n.path("kubelet", "pki"),
			"--hostname-override=" + n.Name, "--node-ip=" + n.IP}},
	}
	for _, s := range starts {
		if _, err := startProcess(n.Dir, s.name, n.life, n.bins.Path(s.name), s.args...); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		for _, name := range []string{"kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy", "cluster-dns", "containerd"} {
			if !Alive(PIDOf(n.Dir, name)) {
				return fmt.Errorf("%s exited: %s", name, LogTail(n.path(name+".log"), 10))
			}
		}
		node, err := n.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err == nil {
			last = "node not Ready"
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady {
					last = fmt.Sprintf("node Ready=%s: %s", c.Status, c.Message)
				}
			}
			if ready(node) {
				// Pods need their namespace's default ServiceAccount (kube-controller-manager).
				_, err := n.client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
				if err == nil {
					return nil
				}
				last = "no default ServiceAccount yet"
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("node %s not ready after %s: %s (kubelet log: %s)", n.Name, limit, last, LogTail(n.path("kubelet.log"), 5))
}

func ready(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return len(node.Spec.Taints) == 0
		}
	}
	return false
}

// Stop deletes every pod through the API (so the kubelet stops their containers and tears down
// their networks), stops the node's processes, removes what is left of the containers, unmounts
// the node's mounts and deletes the bridge. The cluster keeps running.
func (n *Node) Stop() error {
	if n == nil {
		return nil
	}
	var errs []error
	// No new pods: stop the controllers and the scheduler first.
	for _, name := range []string{"kube-controller-manager", "kube-scheduler"} {
		if err := stopOne(n.Dir, name); err != nil {
			errs = append(errs, err)
		}
	}
	if Alive(PIDOf(n.Dir, "kubelet")) && n.client != nil {
		if err := n.deletePods(90 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range []string{"kubelet", "kube-proxy", "cluster-dns"} {
		if err := stopOne(n.Dir, name); err != nil {
			errs = append(errs, err)
		}
	}
	if n.bins.Dir != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = exec.CommandContext(ctx, n.bins.Path("kube-proxy"), "--cleanup").Run()
		cancel()
	}
	cleanupNode(n.Dir)
	if n.lock != nil {
		_ = n.lock.Truncate(0)
		n.lock.Close()
		n.lock = nil
	}
	return errors.Join(errs...)
}

func stopOne(dir, name string) error {
	f := filepath.Join(dir, name+".pid")
	if _, err := os.Stat(f); err != nil {
		return nil
	}
	return stopPIDFile(f, name)
}

// deletePods deletes every pod and waits until the kubelet has stopped them all.
func (n *Node) deletePods(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	pods, err := n.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	for _, p := range pods.Items {
		_ = n.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(2))})
	}
	for {
		pods, err := n.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err == nil && len(pods.Items) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			left := 0
			if pods != nil {
				left = len(pods.Items)
			}
			return fmt.Errorf("%d pods still there after %s", left, limit)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// cleanupNode removes what a node in dir left: its containers (through runc, whose state is
// in dir/runc), containerd and its shims, mounts under dir, and the bridge. It is safe to run on
// a node that was already cleaned up.
func cleanupNode(dir string) {
	_ = StopDir(dir)
	runcRoot := filepath.Join(dir, "runc", "k8s.io")
	if runc, err := exec.LookPath("runc"); err == nil {
		if out, err := exec.Command(runc, "--root", runcRoot, "list", "-q").Output(); err == nil {
			for _, id := range strings.Fields(string(out)) {
				_ = exec.Command(runc, "--root", runcRoot, "delete", "--force", id).Run()
			}
		}
	}
	// Shims outlive containerd: kill the ones serving this node's containerd.
	sock := filepath.Join(dir, "containerd.sock")
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if strings.Contains(filepath.Base(args[0]), "containerd-shim") && strings.Contains(string(b), sock) {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	unmountUnder(dir)
	_ = exec.Command("ip", "link", "delete", NodeBridge).Run()
	// `kube-proxy --cleanup` leaves the chain guarding 127.0.0.0/8 that kube-proxy adds.
	for _, ipt := range []string{"iptables", "ip6tables"} {
		for _, args := range [][]string{
			{"-D", "INPUT", "-j", "KUBE-FIREWALL"}, {"-D", "OUTPUT", "-j", "KUBE-FIREWALL"},
			{"-F", "KUBE-FIREWALL"}, {"-X", "KUBE-FIREWALL"},
		} {
			_ = exec.Command(ipt, args...).Run()
		}
	}
}

// unmountUnder lazily unmounts every mount point under dir, deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// StopNodeDir stops a node started (Detached) with its work directory dir by an earlier
// process, as `scripts/testenv.sh down` does: like Node.Stop, from the PID files and the
// cluster's kubeconfig (dir's parent).
func StopNodeDir(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	n := &Node{Dir: dir}
	if b, err := CachedNodeBinaries(); err == nil {
		n.bins = b
	}
	if cfg, err := clientcmdConfig(filepath.Join(filepath.Dir(dir), "kubeconfig")); err == nil {
		if c, err := kubernetes.NewForConfig(cfg); err == nil {
			n.client = c
		}
	}
	if f, err := os.OpenFile(nodeLock, os.O_RDWR, 0); err == nil {
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			n.lock = f
		} else {
			f.Close()
		}
	}
	return n.Stop()
}

func clientcmdConfig(path string) (*rest.Config, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return clientcmd.BuildConfigFromFlags("", path)
}

// CleanupStaleNode cleans up after a node whose process died without stopping it (its pods'
// containers keep running under their shims, mounts and the bridge stay), unless a node is
// running now. Test environments call it before deleting stale work directories, which would
// otherwise remove the runc state needed to find those containers.
func CleanupStaleNode() {
	if os.Geteuid() != 0 {
		return
	}
	f, err := os.OpenFile(nodeLock, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return // a node runs
	}
	prev, _ := io.ReadAll(f)
	if dir := strings.TrimSpace(string(prev)); dir != "" && !Running(dir) {
		cleanupNode(dir)
		_ = f.Truncate(0)
	}
}
