package native

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
)

func listen(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func TestFreePortSkipsPortsInUse(t *testing.T) {
	busy := listen(t)
	got, err := freePort(busy)
	if err != nil {
		t.Fatal(err)
	}
	if got == busy || got == 0 {
		t.Fatalf("freePort(%d) = %d, want another port", busy, got)
	}
	if !portFree(got) {
		t.Fatalf("port %d is not free", got)
	}
}

func TestStatePortKeepsRecordedPortWhileFree(t *testing.T) {
	free, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	busy := listen(t)
	st := &State{Ports: map[string]int{"redis": free, "nats": busy}}
	if p, err := st.port("redis", 1); err != nil || p != free {
		t.Fatalf("recorded free port: got %d, %v; want %d", p, err, free)
	}
	p, err := st.port("nats", busy)
	if err != nil || p == busy {
		t.Fatalf("recorded busy port: got %d, %v; want a new one", p, err)
	}
	if st.Ports["nats"] != p {
		t.Fatalf("new port not recorded: %v", st.Ports)
	}
	// A port recorded for another service is never handed out twice.
	if q, err := st.port("kafka", free); err != nil || q == free {
		t.Fatalf("port of redis handed to kafka: %d, %v", q, err)
	}
}

func spawnSleep(t *testing.T, name string) Proc {
	t.Helper()
	p, err := spawn(name, nil, t.TempDir(), os.Environ(), filepath.Join(t.TempDir(), name+".log"), "/bin/sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop(time.Second) })
	return p
}

func TestProcStopsByPidAndRecognisesRecycledPids(t *testing.T) {
	p := spawnSleep(t, "sleeper")
	if !p.alive() {
		t.Fatal("sleeper not alive after spawn")
	}
	if err := p.stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if p.alive() {
		t.Fatal("sleeper alive after stop")
	}
	// Our own pid runs the test binary, not /bin/sleep: never "alive" as it.
	other := Proc{Name: "recycled", Pid: os.Getpid(), Exe: "/bin/sleep"}
	if other.alive() {
		t.Fatal("a pid running another binary counted as alive")
	}
	if err := other.stop(time.Second); err != nil {
		t.Fatalf("stop of a recycled pid: %v", err)
	}
}

func TestStopAllStopsEveryRecordedProcess(t *testing.T) {
	st := &State{}
	for _, name := range []string{"a", "b"} {
		if err := st.add(spawnSleep(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	procs := append([]Proc(nil), st.Procs...)
	var out strings.Builder
	s := &Stack{Root: t.TempDir(), Out: &out}
	if err := s.stopAll(st); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.alive() {
			t.Errorf("%s still alive", p.Name)
		}
	}
	if !strings.Contains(out.String(), "stopping b") || !strings.Contains(out.String(), "stopping a") {
		t.Errorf("output %q does not name the stopped processes", out.String())
	}
}

func TestWaitHealthy(t *testing.T) {
	t.Run("reports_a_process_that_exits_with_its_log", func(t *testing.T) {
		logPath := filepath.Join(t.TempDir(), "crash.log")
		p, err := spawn("crash", nil, t.TempDir(), os.Environ(), logPath, "/bin/sh", "-c", "echo boom; exit 3")
		if err != nil {
			t.Fatal(err)
		}
		err = waitHealthy(t.Context(), p, 10*time.Second, func(context.Context) error { return errors.New("not yet") })
		if err == nil || !strings.Contains(err.Error(), "crash exited during start-up; see "+logPath) {
			t.Fatalf("err = %v", err)
		}
		data, _ := os.ReadFile(logPath)
		if strings.TrimSpace(string(data)) != "boom" {
			t.Fatalf("log holds %q, want the process output", data)
		}
	})
	t.Run("times_out_naming_service_cause_and_log", func(t *testing.T) {
		p := spawnSleep(t, "slow")
		err := waitHealthy(t.Context(), p, 300*time.Millisecond, func(context.Context) error { return errors.New("connection refused") })
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"slow not healthy after 300ms", "connection refused", p.Log} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to mention %q", err, want)
			}
		}
	})
	t.Run("returns_when_healthy", func(t *testing.T) {
		p := spawnSleep(t, "ok")
		port := listen(t)
		if err := waitHealthy(t.Context(), p, 5*time.Second, func(ctx context.Context) error { return tcpReady(ctx, port) }); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWriteEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	if err := WriteEnv(path, map[string]string{"REDIS_ADDR": "localhost:" + strconv.Itoa(16379), "AMQP_URL": "amqp://guest:guest@localhost:5672/"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	want := []string{"AMQP_URL=amqp://guest:guest@localhost:5672/", "REDIS_ADDR=localhost:16379"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("env file:\n%s\nwant sorted KEY=value lines %q", data, want)
	}
}

func TestAliveTrustsAPidOnlyWithItsStartTimeAndBoot(t *testing.T) {
	p := spawnSleep(t, "sleeper")
	if p.StartTime == 0 || p.BootID == "" || p.BootID != bootID() {
		t.Fatalf("spawn recorded no identity: %+v", p)
	}
	if !p.alive() {
		t.Fatal("sleeper not alive after spawn")
	}
	later := p
	later.StartTime++ // the same pid, started later: a recycled pid
	if later.alive() {
		t.Error("a pid with another start time counted as alive")
	}
	rebooted := p
	rebooted.BootID = "another-boot"
	if rebooted.alive() {
		t.Error("a pid recorded in another boot counted as alive")
	}
	// Even the recorded binary at the recorded pid is not enough.
	sameBinary := later
	if sameBinary.Exe != p.Exe || sameBinary.alive() {
		t.Error("binary path trusted over start time")
	}
	if err := later.stop(time.Second); err != nil || !p.alive() {
		t.Fatalf("stop of an unrecognised pid signalled it: %v", err)
	}
	noIdentity := Proc{Name: "unknown", Pid: p.Pid}
	if noIdentity.alive() {
		t.Error("a pid without any identity counted as alive")
	}
}

func TestStopStopsTheWholeProcessGroup(t *testing.T) {
	dir := t.TempDir()
	childFile := filepath.Join(dir, "child")
	// A server that starts a helper and ignores the helper on exit, as a
	// shell wrapper or the Erlang VM does.
	p, err := spawn("wrapper", nil, dir, os.Environ(), filepath.Join(dir, "wrapper.log"), "/bin/sh", "-c",
		"sleep 300 & echo $! > "+childFile+".tmp && mv "+childFile+".tmp "+childFile+"; wait")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop(time.Second) })
	var child int
	testkit.Eventually(t, 10*time.Second, func() error {
		data, err := os.ReadFile(childFile)
		if err != nil {
			return err
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err
	})
	if err := p.stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if state, _, err := procStat(child); err == nil && state != 'Z' {
			return fmt.Errorf("child %d still running (state %c)", child, state)
		}
		return nil
	})
}

func TestStateIsSavedAfterEverySpawn(t *testing.T) {
	s := &Stack{Root: t.TempDir(), Out: new(strings.Builder)}
	if err := os.MkdirAll(s.dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	st := &State{Ports: map[string]int{}, Env: map[string]string{}, save: s.writeState}
	if err := st.add(spawnSleep(t, "first")); err != nil {
		t.Fatal(err)
	}
	// As if make up were killed right here.
	saved, err := s.loadState()
	if err != nil || saved == nil {
		t.Fatalf("no state after the first spawn: %v", err)
	}
	if len(saved.Procs) != 1 || saved.Procs[0].Name != "first" || saved.Complete {
		t.Fatalf("saved state: %+v", saved)
	}
	if saved.Procs[0].StartTime == 0 {
		t.Error("saved state lacks the start time")
	}
}

func TestLockMakesASecondCallerWaitAndNamesTheHolder(t *testing.T) {
	root := t.TempDir()
	first := &Stack{Root: root, Out: new(strings.Builder)}
	unlock, err := first.lock(t.Context(), "make up")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	second := &Stack{Root: root, Out: &out}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := second.lock(ctx, "make up"); err == nil || !strings.Contains(err.Error(), "gave up waiting for .stack/lock") {
		t.Fatalf("second lock: %v", err)
	}
	if want := "held by make up (pid " + strconv.Itoa(os.Getpid()); !strings.Contains(out.String(), want) {
		t.Errorf("waiting message %q lacks %q", out.String(), want)
	}
	unlock()
	unlock2, err := second.lock(t.Context(), "make down")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestPurgeRemovesWhatUpCreated(t *testing.T) {
	root := t.TempDir()
	var out strings.Builder
	s := &Stack{Root: root, Out: &out}
	pg := filepath.Join(t.TempDir(), "pg-elsewhere")
	for _, d := range []string{s.dir("logs"), filepath.Join(pg, "primary")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	st := &State{PGRoot: pg}
	if err := st.add(spawnSleep(t, "server")); err != nil {
		t.Fatal(err)
	}
	if err := s.writeState(st); err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{s.dir(), pg} {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived make clean: %v", d, err)
		}
	}
	if st.Procs[0].alive() {
		t.Error("server still running after make clean")
	}
	if s.varLibRoot() == s.dir() || !strings.HasPrefix(s.varLibRoot(), varLibBase+"/") {
		t.Errorf("varLibRoot = %s", s.varLibRoot())
	}
}

func TestAStateFromBeforeStartTimesCountsAsComplete(t *testing.T) {
	s := &Stack{Root: t.TempDir(), Out: new(strings.Builder)}
	if err := os.MkdirAll(s.dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	old := `{"procs":[{"name":"redis","pid":1,"exe":"/usr/bin/redis-server","log":"x","stop_signal":15}],"ports":{},"env":{},"pg_root":""}`
	if err := os.WriteFile(s.dir("state.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := s.loadState()
	if err != nil || st == nil || !st.Complete {
		t.Fatalf("legacy state: %+v, %v", st, err)
	}
}
