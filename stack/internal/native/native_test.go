package native

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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
	st.add(spawnSleep(t, "a"))
	st.add(spawnSleep(t, "b"))
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
