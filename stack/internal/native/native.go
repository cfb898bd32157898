// Package native runs the stack without Docker on Debian/Ubuntu as root:
// Debian's PostgreSQL (primary + streaming replica), PgBouncer and Redis,
// Go-built NATS and Jaeger, a kfake-based Kafka dev broker, and RabbitMQ
// (the machine's own when one answers as guest, else a private node). All
// state lives under .stack/ (PostgreSQL data where its user can reach it);
// ports never collide with services the machine already runs.
package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Versions of the Go-built servers, pinned. The compose file pins the same
// releases as images.
const (
	JaegerModule     = "github.com/jaegertracing/jaeger"
	JaegerVersion    = "v1.76.0" // Jaeger 2.13.0
	NATSModule       = "github.com/nats-io/nats-server/v2"
	NATSVersion      = "v2.15.2"
	healthTimeout    = 60 * time.Second
	rabbitmqTimeout  = 120 * time.Second
	stopTimeout      = 30 * time.Second
	certValidityDays = 825
)

// Stack is one checkout's native stack.
type Stack struct {
	Root string    // repository root
	Out  io.Writer // progress for the person running make up
}

// State is what make up leaves in .stack/state.json for make down. It is
// saved after every spawn, so a make up killed half-way leaves every
// process it started on record.
type State struct {
	Procs  []Proc            `json:"procs"`
	Ports  map[string]int    `json:"ports"`
	Env    map[string]string `json:"env"`
	Reused []string          `json:"reused,omitempty"`
	PGRoot string            `json:"pg_root"`
	// Complete is set once every service is healthy: a state without it
	// is a make up that did not finish.
	Complete bool `json:"complete"`

	save func(*State) error // persists the state after each spawn
}

func (s *Stack) dir(parts ...string) string {
	return filepath.Join(append([]string{s.Root, ".stack"}, parts...)...)
}

func (s *Stack) printf(format string, args ...any) {
	fmt.Fprintf(s.Out, format+"\n", args...)
}

func (s *Stack) loadState() (*State, error) {
	data, err := os.ReadFile(s.dir("state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("parse %s: %w", s.dir("state.json"), err)
	}
	// A state from before start times and Complete were recorded was
	// written only after whole steps: it counts as complete, so make up on
	// a running stack still says "already up".
	legacy := true
	for _, p := range st.Procs {
		if p.StartTime != 0 || p.BootID != "" {
			legacy = false
		}
	}
	if legacy && len(st.Procs) > 0 {
		st.Complete = true
	}
	return &st, nil
}

// writeState saves state.json atomically (a rename), so a make up killed
// while writing leaves the previous version, never half a file.
func (s *Stack) writeState(st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := s.dir("state.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, s.dir("state.json")); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

func (s *Stack) saveState(st *State) error {
	if err := s.writeState(st); err != nil {
		return err
	}
	return WriteEnv(s.dir("env"), st.Env)
}

// WriteEnv writes the endpoints file the Makefile loads.
func WriteEnv(path string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by make up (native mode). The Makefile exports these;\n")
	b.WriteString("# in a shell: eval \"$(make -s env)\"\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Up starts every service, or says "already up" when a previous make up
// is still running whole. On any failure it stops what it started.
func (s *Stack) Up(ctx context.Context) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("native mode needs root (it installs Debian packages and runs PostgreSQL as its own user); run sudo make up, or install Docker")
	}
	for _, d := range []string{s.dir(), s.dir("logs"), s.dir("bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	unlock, err := s.lock(ctx, "make up")
	if err != nil {
		return err
	}
	defer unlock()
	prev, err := s.loadState()
	if err != nil {
		return err
	}
	if prev != nil {
		if prev.Complete && running(prev) {
			s.printf("already up (native mode): %d processes running; make down to stop", len(prev.Procs))
			return nil
		}
		if prev.Complete {
			s.printf("a previous make up is partly gone; stopping what is left and starting again")
		} else {
			s.printf("a previous make up did not finish; stopping what it started and starting again")
		}
		if err := s.stopAll(prev); err != nil {
			return err
		}
	}

	tools, err := s.ensureTools(ctx)
	if err != nil {
		return err
	}
	if err := s.EnsureCerts(); err != nil {
		return err
	}

	st := &State{Ports: map[string]int{}, Env: map[string]string{"STACK_MODE": "native"}, save: s.writeState}
	if prev != nil {
		st.Ports = prev.Ports // keep the endpoints readers have exported
	}
	defer func() {
		if err != nil {
			s.printf("start-up failed; stopping what this make up started")
			if stopErr := s.stopAll(st); stopErr != nil {
				s.printf("  %v", stopErr)
			}
			_ = os.Remove(s.dir("state.json"))
			_ = os.Remove(s.dir("env"))
		}
	}()

	steps := []struct {
		name string
		fn   func(context.Context, *State, *toolset) error
	}{
		{"rabbitmq", s.startRabbitMQ}, // slowest to boot: start first, wait last
		{"postgres", s.startPostgres},
		{"pgbouncer", s.startPgBouncer},
		{"redis", s.startRedis},
		{"nats", s.startNATS},
		{"kafka", s.startKafka},
		{"jaeger", s.startJaeger},
		{"rabbitmq-wait", s.waitRabbitMQ},
	}
	for _, step := range steps {
		if err := step.fn(ctx, st, tools); err != nil {
			return err
		}
		if err := s.saveState(st); err != nil {
			return err
		}
	}
	st.Complete = true
	if err := s.saveState(st); err != nil {
		return err
	}
	s.printf("up (native mode): endpoints in .stack/env; make doctor checks them")
	return nil
}

// Down stops exactly the processes make up started, by pid, newest first.
func (s *Stack) Down(ctx context.Context) error {
	unlock, err := s.lock(ctx, "make down")
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.loadState()
	if err != nil {
		return err
	}
	if st == nil {
		s.printf("nothing to stop (no .stack/state.json)")
		return nil
	}
	n := len(st.Procs)
	if err := s.stopAll(st); err != nil {
		return err
	}
	if err := os.Remove(s.dir("state.json")); err != nil {
		return fmt.Errorf("remove state: %w", err)
	}
	if err := os.Remove(s.dir("env")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove env: %w", err)
	}
	s.printf("down: stopped %d processes (data kept; make clean removes it)", n)
	return nil
}

func (s *Stack) stopAll(st *State) error {
	var errs []error
	procs := slices.Clone(st.Procs)
	slices.Reverse(procs)
	for _, p := range procs {
		if !p.alive() {
			continue
		}
		s.printf("  stopping %s (pid %d)", p.Name, p.Pid)
		if err := p.stop(stopTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	st.Procs = nil
	return errors.Join(errs...)
}

func running(st *State) bool {
	if len(st.Procs) == 0 {
		return false
	}
	for _, p := range st.Procs {
		if !p.alive() {
			return false
		}
	}
	return true
}

// port returns the recorded port for key if it is still free, else the
// first free of preferred.
func (st *State) port(key string, preferred ...int) (int, error) {
	if p, ok := st.Ports[key]; ok && portFree(p) {
		return p, nil
	}
	taken := map[int]bool{}
	for k, p := range st.Ports {
		if k != key {
			taken[p] = true
		}
	}
	var cands []int
	for _, p := range preferred {
		if !taken[p] {
			cands = append(cands, p)
		}
	}
	p, err := freePort(cands...)
	if err != nil {
		return 0, err
	}
	st.Ports[key] = p
	return p, nil
}

// add records a started process and saves the state at once.
func (st *State) add(p Proc) error {
	st.Procs = append(st.Procs, p)
	if st.save == nil {
		return nil
	}
	return st.save(st)
}

// baseEnv is the environment for servers: the launcher's own, without the
// stack's variables (a server must not pick up OTEL_* meant for clients).
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OTEL_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// sigInt is PostgreSQL's "fast shutdown".
const sigInt = syscall.SIGINT

// Purge stops the stack and removes every file and folder make up wrote:
// .stack/, the PostgreSQL folder (which may live under /var/lib, found
// from this checkout's path even without a state file) and its parent when
// empty. The Go-built servers stay in the user cache, which every checkout
// shares (~/.cache/part4-infrastructure; remove it by hand to rebuild).
func (s *Stack) Purge(ctx context.Context) error {
	unlock, err := s.lock(ctx, "make clean")
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.loadState()
	if err != nil {
		return err
	}
	dirs := []string{s.varLibRoot()}
	if st != nil {
		if err := s.stopAll(st); err != nil {
			return err
		}
		dirs = append(dirs, st.PGRoot)
	}
	var removed []string
	for _, dir := range dirs {
		if dir == "" || dir == "/" || !filepath.IsAbs(dir) {
			continue
		}
		if _, err := os.Lstat(dir); err != nil {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
		removed = append(removed, dir)
		// The shared parent under /var/lib goes when this was its last checkout.
		if parent := filepath.Dir(dir); parent == varLibBase {
			_ = os.Remove(parent) // fails while other checkouts use it
		}
	}
	// .stack last: it holds the lock file.
	if err := os.RemoveAll(s.dir()); err != nil {
		return fmt.Errorf("remove %s: %w", s.dir(), err)
	}
	s.printf("clean: stopped the stack and removed .stack%s; the Go-built servers stay cached in ~/.cache/part4-infrastructure", strings.Join(prefixEach(removed, ", "), ""))
	return nil
}

func prefixEach(list []string, p string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = p + v
	}
	return out
}
