package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type server struct {
	cfg      *config
	deps     *deps
	http     *http.Server
	log      *slog.Logger
	tel      *telemetry
	draining atomic.Bool
	redisBad atomic.Bool   // last Redis ping failed: log transitions only
	done     chan struct{} // closed when Serve has returned
}

// newServer logs JSON to logw (os.Stderr in main).
func newServer(cfg *config, d *deps, tel *telemetry, logw io.Writer) *server {
	s := &server{cfg: cfg, deps: d, tel: tel, done: make(chan struct{}),
		log: slog.New(slog.NewJSONHandler(logw, nil))}
	mux := http.NewServeMux()
	// Liveness checks the process only. A liveness probe that checked the
	// database would restart every pod during a database outage.
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(tel.reg, promhttp.HandlerOpts{Registry: tel.reg}))
	mux.Handle("GET /items/{id}", tel.instrument("GET /items/{id}", s.getItem))
	mux.Handle("PUT /items/{id}", tel.instrument("PUT /items/{id}", s.putItem))
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	return s
}

// start listens and serves in a goroutine that shutdown waits for.
func (s *server) start(ctx context.Context) (string, <-chan error, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.HTTPAddr)
	if err != nil {
		return "", nil, fmt.Errorf("listen %s: %w", s.cfg.HTTPAddr, err)
	}
	errc := make(chan error, 1)
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve: %w", err)
		}
	}()
	return ln.Addr().String(), errc, nil
}

// shutdown is the SIGTERM sequence. Kubernetes removes the pod from the
// Service's endpoints at the same time as it sends SIGTERM, and the two race:
// failing readiness and serving on for SHUTDOWN_DELAY lets every proxy
// catch up before the listener closes. Then in-flight requests finish
// within SHUTDOWN_TIMEOUT; main's defers close the pools and flush traces.
func (s *server) shutdown(stdout io.Writer) error {
	fmt.Fprintf(stdout, "shutdown: /readyz answers 503, serving on for %s\n", s.cfg.ShutdownDelay)
	s.draining.Store(true)
	time.Sleep(s.cfg.ShutdownDelay) // a wait for other processes, not for our goroutines
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	<-s.done
	fmt.Fprintln(stdout, "shutdown: in-flight requests done, listener closed")
	return nil
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	// The reason goes to the log, never to the client: a pgx error names
	// the user, the database and the address.
	if err := s.deps.ready(ctx); err != nil {
		s.log.Error("not ready", "err", err)
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	s.checkRedis(ctx)
	fmt.Fprintln(w, "ready")
}

// checkRedis reports Redis health in the redis_up gauge and the log, not in
// readiness: reads degrade to the database when Redis fails, and a Redis
// outage that failed readiness would take every pod out of the Service.
func (s *server) checkRedis(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err := s.deps.redis.Ping(ctx).Err()
	switch {
	case err != nil:
		s.tel.redisUp.Set(0)
		if !s.redisBad.Swap(true) {
			s.log.Warn("redis unreachable, reads go to the database", "err", err)
		}
	default:
		s.tel.redisUp.Set(1)
		if s.redisBad.Swap(false) {
			s.log.Info("redis reachable again")
		}
	}
}

func (s *server) getItem(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	it, hit, err := s.deps.get(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, errNotFound):
		http.Error(w, "not found", http.StatusNotFound)
		return
	case err != nil:
		s.log.Error("get item", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Cache", map[bool]string{true: "hit", false: "miss"}[hit])
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(it)
}

func (s *server) putItem(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Name == "" {
		http.Error(w, `want a JSON body {"name": "..."}`, http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.deps.put(ctx, item{ID: r.PathValue("id"), Name: body.Name}); err != nil {
		s.log.Error("put item", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
