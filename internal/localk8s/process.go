package localk8s

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Lifetime says what happens to started servers when the starting process dies.
type Lifetime int

const (
	// DieWithParent kills the servers (SIGKILL from the kernel) when the process that started
	// them dies, even by a panic or a test timeout: nothing is left behind by tests.
	DieWithParent Lifetime = iota
	// Detached servers run in their own session until stopped by PID (scripts/testenv.sh,
	// sandbox): their PID files in the work directory are the handle.
	Detached
)

// startProcess starts bin with args, logging to dir/name.log and recording its PID in
// dir/name.pid.
func startProcess(dir, name string, life Lifetime, bin string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	if life == Detached {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("record %s pid: %w", name, err)
	}
	if life == DieWithParent {
		// Reap the child so it does not linger as a zombie; the exit status is in its log.
		go func() { _ = cmd.Wait() }()
	}
	return cmd, nil
}

// StopDir stops every server whose PID file is in dir (SIGTERM, then SIGKILL after 5 s) and
// removes the PID files. A PID whose process is gone, or now runs another program, is skipped:
// PIDs get reused after a reboot or a crash.
func StopDir(dir string) error {
	pidFiles, err := filepath.Glob(filepath.Join(dir, "*.pid"))
	if err != nil {
		return fmt.Errorf("list pid files in %s: %w", dir, err)
	}
	var errs []error
	for _, f := range pidFiles {
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		if err := stopPIDFile(f, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func stopPIDFile(file, name string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("parse %s: %w", file, err)
	}
	if ours(pid, name) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(5 * time.Second)
		for Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if Alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", file, err)
	}
	return nil
}

// ours reports whether pid still runs the program named by its PID file.
func ours(pid int, name string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	argv0 := strings.SplitN(string(cmdline), "\x00", 2)[0]
	return strings.Contains(filepath.Base(argv0), name)
}

// Alive reports whether pid runs and is not a zombie (a zombie still answers signal 0).
func Alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat))
	return len(fields) > 2 && fields[2] != "Z"
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1. Another process may take it before
// it is used; callers that bind it retry on failure.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Running reports whether any server recorded in dir is still alive.
func Running(dir string) bool {
	pidFiles, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	for _, f := range pidFiles {
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		if pid := PIDOf(dir, name); pid > 0 && ours(pid, name) && Alive(pid) {
			return true
		}
	}
	return false
}
