// Package caddyproc runs a built Caddy binary as a process of its own, for
// the tests and the benchmark that drive it from outside.
package caddyproc

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/c0f4626f/caddy-session/internal/wait"
)

// startTimeout is how long Caddy may take to serve after it was started:
// long, for a loaded machine.
const startTimeout = 20 * time.Second

// Process is a running Caddy.
type Process struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed once the process has ended and been reaped
}

// Start writes config to dir/Caddyfile, runs bin on it with Caddy's data and
// config directories under dir and its output in a log file there, and
// waits until readyURL answers. If Caddy exits or does not serve in time,
// the error holds its log.
func Start(bin, dir, config, readyURL string) (*Process, error) {
	return start(exec.Command(bin), dir, config, readyURL)
}

// StartPinned is Start with Caddy bound to one CPU (taskset) and running
// Go code on one thread at a time (GOMAXPROCS=1): a core of its own, for
// measurements that must not share it with the load that drives it.
func StartPinned(cpu int, bin, dir, config, readyURL string) (*Process, error) {
	cmd := exec.Command("taskset", "-c", strconv.Itoa(cpu), bin)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	return start(cmd, dir, config, readyURL)
}

// start runs cmd (Caddy, or a wrapper that execs it with the arguments
// that follow) with Caddy's arguments appended.
func start(cmd *exec.Cmd, dir, config, readyURL string) (*Process, error) {
	cfg, err := writeConfig(dir, config)
	if err != nil {
		return nil, err
	}
	// A file of its own per start, so a restart in the same dir keeps the
	// earlier log.
	logPath := filepath.Join(dir, fmt.Sprintf("caddy-%d.log", time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd.Args = append(cmd.Args, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	if !wait.Until(startTimeout, 100*time.Millisecond, func() bool { return p.hasExited() || answers(readyURL) }) || p.hasExited() {
		p.Kill()
		return nil, fmt.Errorf("caddy did not serve %s:\n%s", readyURL, p.Log())
	}
	return p, nil
}

// Reload gives the Caddy whose admin endpoint is at admin a new config,
// written to dir/Caddyfile, with `caddy reload`.
func Reload(bin, dir, config, admin string) error {
	cfg, err := writeConfig(dir, config)
	if err != nil {
		return err
	}
	out, err := exec.Command(bin, "reload", "--config", cfg, "--adapter", "caddyfile", "--address", admin).CombinedOutput()
	if err != nil {
		return fmt.Errorf("caddy reload: %v\n%s", err, out)
	}
	return nil
}

// Stop ends Caddy gracefully (SIGTERM) and waits for it. If it has not
// exited within grace it is killed, and Stop says so. Stopping a process
// that has ended already does nothing.
func (p *Process) Stop(grace time.Duration) error {
	if p.hasExited() {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
		p.Kill()
		return fmt.Errorf("caddy did not stop within %v of SIGTERM", grace)
	}
}

// Kill ends Caddy at once (SIGKILL: no flush, no goodbye) and waits for it.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// Pid is the process ID, for reading the process's figures from /proc.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Log is what Caddy has written to its output so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *Process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func writeConfig(dir, config string) (path string, err error) {
	path = filepath.Join(dir, "Caddyfile")
	return path, os.WriteFile(path, []byte(config), 0o600)
}

func answers(url string) bool {
	res, err := http.Get(url)
	if err != nil {
		return false
	}
	res.Body.Close()
	return true
}
