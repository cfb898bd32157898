package native

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a server process that make up started and make down stops. It
// leads its own process group (its own session), so stopping it stops
// every process it started too (RabbitMQ's Erlang VM and its helpers).
type Proc struct {
	Name string `json:"name"`
	Pid  int    `json:"pid"`
	Exe  string `json:"exe"` // resolved binary, to recognise the pid later
	Log  string `json:"log"`
	// Signal that asks for a clean, quick shutdown (PostgreSQL: SIGINT).
	StopSignal syscall.Signal `json:"stop_signal"`
	// Identity: the pid is this process only while the kernel reports the
	// same start time (clock ticks since boot) in the same boot. A pid
	// alone is recycled, and after a reboot the system's own PostgreSQL or
	// Redis may hold it and even run the same binary.
	StartTime uint64 `json:"start_time,omitempty"`
	BootID    string `json:"boot_id,omitempty"`
}

// bootID names the running kernel's boot; it changes with every reboot.
func bootID() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// procStat returns the state letter and start time of pid from
// /proc/PID/stat. Fields after the command name (which may hold spaces
// and parentheses) start after its last ')'.
func procStat(pid int) (state byte, start uint64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("pid %d: malformed stat", pid)
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("pid %d: short stat", pid)
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("pid %d: start time: %w", pid, err)
	}
	return fields[0][0], start, nil
}

// identify records who pid is now, so alive can tell it from a later
// process with the same pid.
func (p *Proc) identify() error {
	_, start, err := procStat(p.Pid)
	if err != nil {
		return fmt.Errorf("%s: identify pid %d: %w", p.Name, p.Pid, err)
	}
	p.StartTime, p.BootID = start, bootID()
	return nil
}

// account is a user the server runs as (PostgreSQL and PgBouncer refuse root).
type account struct {
	name     string
	uid, gid uint32
}

func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("look up user %s: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("uid of %s: %w", name, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid of %s: %w", name, err)
	}
	return &account{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
}

func (a *account) attr(setsid bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setsid: setsid}
	if a != nil {
		attr.Credential = &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: []uint32{}}
	}
	return attr
}

// chown gives paths to the account (no-op for root).
func (a *account) chown(paths ...string) error {
	if a == nil {
		return nil
	}
	for _, p := range paths {
		err := filepath.Walk(p, func(path string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(a.uid), int(a.gid))
		})
		if err != nil {
			return fmt.Errorf("chown %s to %s: %w", p, a.name, err)
		}
	}
	return nil
}

// spawn starts a long-running server in its own session with its output in
// logPath, and returns without waiting: the server outlives make up.
func spawn(name string, as *account, dir string, env []string, logPath, bin string, args ...string) (Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return Proc{}, fmt.Errorf("%s: open log: %w", name, err)
	}
	defer logf.Close()
	// No context: the server must outlive make up, which only starts it.
	cmd := exec.Command(bin, args...) //nolint:noctx // see above
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = as.attr(true)
	if err := cmd.Start(); err != nil {
		return Proc{}, fmt.Errorf("%s: start %s: %w", name, bin, err)
	}
	exe, err := filepath.EvalSymlinks(bin)
	if err != nil {
		exe = bin
	}
	p := Proc{Name: name, Pid: cmd.Process.Pid, Exe: exe, Log: logPath, StopSignal: syscall.SIGTERM}
	// Identify it before anything reaps it: until then even a process
	// that already exited keeps its /proc entry (as a zombie).
	idErr := p.identify()
	// Reap it if it exits while make up still runs; the server outlives
	// make up otherwise.
	go func() { _ = cmd.Wait() }()
	if idErr != nil {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
		return Proc{}, idErr
	}
	return p, nil
}

// run runs a short command to completion and returns its combined output
// in the error when it fails.
func run(ctx context.Context, as *account, dir string, env []string, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = as.attr(false)
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, indent(out.String()))
	}
	return out.String(), nil
}

func indent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// alive reports whether the recorded process still runs: same pid, same
// start time, same boot, not a zombie. A state written before start times
// were recorded falls back to the binary's path.
func (p Proc) alive() bool {
	state, start, err := procStat(p.Pid)
	if err != nil || state == 'Z' {
		return false
	}
	if p.StartTime != 0 || p.BootID != "" {
		return start == p.StartTime && p.BootID == bootID()
	}
	if p.Exe == "" {
		return false // no identity at all: never signal it
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid))
	if err != nil {
		return false
	}
	return strings.TrimSuffix(exe, " (deleted)") == p.Exe
}

// stop asks the process to shut down with its stop signal and waits up to
// timeout for it to exit, then kills it; either way it then kills whatever
// is left of its process group (helpers the server started), so nothing
// is orphaned.
func (p Proc) stop(timeout time.Duration) error {
	if !p.alive() {
		return nil
	}
	sig := p.StopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if err := syscall.Kill(p.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s (pid %d): %w", p.Name, p.Pid, err)
	}
	deadline := time.Now().Add(timeout)
	for p.alive() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if p.alive() {
		if err := syscall.Kill(p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.Pid, err)
		}
	}
	// The group outlives its leader while members remain, and its id is
	// not reused meanwhile: what answers -pid is what this server started.
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill the process group of %s (pid %d): %w", p.Name, p.Pid, err)
	}
	return nil
}

// waitHealthy polls check until it passes, the process dies, or timeout.
func waitHealthy(ctx context.Context, p Proc, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if !p.alive() {
			return fmt.Errorf("%s exited during start-up; see %s", p.Name, p.Log)
		}
		cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %s (%w); see %s", p.Name, timeout, last, p.Log)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// freePort returns the first of preferred that nothing listens on, or a
// port the kernel picks.
func freePort(preferred ...int) (int, error) {
	for _, p := range preferred {
		if portFree(p) {
			return p, nil
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func portFree(p int) bool {
	if p <= 0 {
		return false
	}
	var lc net.ListenConfig
	ctx := context.Background()
	for _, addr := range []string{"127.0.0.1", "0.0.0.0"} {
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		_ = ln.Close()
	}
	// Something on ::1 only (a system Redis does this) still answers "localhost".
	if ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort("::1", strconv.Itoa(p))); err == nil {
		_ = ln.Close()
	} else if !strings.Contains(err.Error(), "cannot assign") && !strings.Contains(err.Error(), "address family") {
		return false
	}
	return true
}

func tcpReady(ctx context.Context, port int) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return conn.Close()
}
