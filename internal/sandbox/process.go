package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trafficctl/trafficctl/internal/localk8s"
)

// procPrefix starts argv[0] of every sandbox component process. localk8s.StopDir only stops a
// PID whose argv[0] contains the PID file's name, so a reused PID is never killed by mistake:
// a component named web-v1-0 runs as "trafficctl-sandbox-web-v1-0".
const procPrefix = "trafficctl-sandbox-"

// ErrComponentDied means a component exited while starting.
var ErrComponentDied = errors.New("component exited while starting")

// spawn starts the executable re-executed as `sandbox serve-component --spec FILE`, detached in
// its own session, logging to dir/name.log with its PID in dir/name.pid, and waits until it
// has written its listen addresses to dir/name.addr.
// Extra files are inherited as file descriptors 3, 4, ...
func spawn(exe, dir string, spec ComponentSpec, extra []*os.File, wait time.Duration) ([]string, int, error) {
	name := spec.Name
	specPath := filepath.Join(dir, name+".json")
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, 0, err
	}
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		return nil, 0, fmt.Errorf("write %s spec: %w", name, err)
	}
	addrPath := filepath.Join(dir, name+".addr")
	_ = os.Remove(addrPath)
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, 0, fmt.Errorf("create %s log: %w", name, err)
	}
	defer logf.Close()
	cmd := &exec.Cmd{Path: exe, Args: []string{procPrefix + name, "sandbox", "serve-component", "--spec", specPath},
		Stdout: logf, Stderr: logf, Dir: dir, ExtraFiles: extra, SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s (%s): %w", name, exe, err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(dir, name+".pid"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return nil, 0, fmt.Errorf("record %s pid: %w", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.After(wait)
	for {
		if b, err := os.ReadFile(addrPath); err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.Fields(string(b)), pid, nil
		}
		select {
		case <-exited:
			return nil, pid, fmt.Errorf("%w: %s: %s", ErrComponentDied, name, tail(logPath, 5))
		case <-deadline:
			return nil, pid, fmt.Errorf("%s did not start within %s: %s", name, wait, tail(logPath, 5))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// writeAddrs publishes a started component's listen addresses; the trailing newline marks the
// file complete.
func writeAddrs(dir, name string, addrs ...string) error {
	tmp := filepath.Join(dir, name+".addr.tmp")
	if err := os.WriteFile(tmp, []byte(strings.Join(addrs, " ")+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s addresses: %w", name, err)
	}
	return os.Rename(tmp, filepath.Join(dir, name+".addr"))
}

// cmdline returns a process's arguments.
func cmdline(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// tail quotes the end of a component's log in an error, with where to read the rest.
func tail(path string, n int) string {
	return localk8s.LogTail(path, n) + " (log: " + path + ")"
}
