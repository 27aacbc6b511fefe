package localk8s

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoPrometheus means no Prometheus binary was found.
var ErrNoPrometheus = errors.New("prometheus not found")

// PrometheusBinary finds Prometheus: $TRAFFICCTL_PROMETHEUS, else `prometheus` on PATH (Debian's
// package installs /usr/bin/prometheus), else the one EnsurePrometheus built into the cache.
func PrometheusBinary() (string, error) {
	if p := os.Getenv("TRAFFICCTL_PROMETHEUS"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w at TRAFFICCTL_PROMETHEUS=%s: %v", ErrNoPrometheus, p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p, nil
	}
	if p, err := builtPrometheus(); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w on PATH or in the cache: run `make testbins` (builds it from the Go module proxy), install it (apt-get install prometheus) or set TRAFFICCTL_PROMETHEUS", ErrNoPrometheus)
}

// PromConfig describes what a local Prometheus scrapes.
type PromConfig struct {
	// Targets are host:port addresses serving /metrics.
	Targets []string
	// Interval is the scrape and evaluation interval; 0 means 1 s.
	Interval time.Duration
	Lifetime Lifetime
	// Binary overrides PrometheusBinary.
	Binary string
}

// Prometheus is a running Prometheus server.
type Prometheus struct {
	URL string
	Dir string
}

// StartPrometheus starts Prometheus on a free 127.0.0.1 port with its data in dir, and waits
// until it is ready. Note that its first scrape comes about one interval after that: poll.
func StartPrometheus(ctx context.Context, dir string, cfg PromConfig) (*Prometheus, error) {
	bin := cfg.Binary
	if bin == "" {
		var err error
		if bin, err = PrometheusBinary(); err != nil {
			return nil, err
		}
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", dir, err)
	}
	if err := StopDir(dir); err != nil {
		return nil, err
	}
	quoted := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		quoted[i] = fmt.Sprintf("%q", t)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
- job_name: trafficctl
  static_configs:
  - targets: [%[2]s]
`, cfg.Interval, strings.Join(quoted, ", "))
	confPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("write prometheus config: %w", err)
	}
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		if _, err := startProcess(dir, "prometheus", cfg.Lifetime, bin,
			"--config.file="+confPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn"); err != nil {
			return nil, err
		}
		err = waitHTTP(ctx, http.DefaultClient, url+"/-/ready", "", 15*time.Second)
		if err == nil {
			return &Prometheus{URL: url, Dir: dir}, nil
		}
		_ = StopDir(dir)
		if attempt == 3 || ctx.Err() != nil {
			return nil, fmt.Errorf("prometheus did not become ready: %w (%s)", err, LogTail(filepath.Join(dir, "prometheus.log"), 5))
		}
	}
}

// Stop stops the server.
func (p *Prometheus) Stop() error { return StopDir(p.Dir) }
