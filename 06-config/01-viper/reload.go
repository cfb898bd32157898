package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/pflag"
)

// settle is how long the watcher waits after the last event before it
// reloads: an editor's truncate + write, or a Kubernetes volume's symlink
// swap, is several events for one change.
const settle = 100 * time.Millisecond

// watchFile reloads the config whenever the config file or the password
// file changes, until ctx ends. It watches their directories, not the
// files: a file replaced by rename (editors, ConfigMap and Secret volumes)
// or removed and written again stays watched. A reload that fails to
// load, to validate, or that changes a restart-only field is logged and
// the last good config stays live.
func watchFile(ctx context.Context, log *slog.Logger, path string, flags *pflag.FlagSet,
	live *atomic.Pointer[Config],
) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer w.Close()
	files := map[string]bool{}
	for _, f := range []string{path, live.Load().DB.PasswordFile} {
		abs, err := filepath.Abs(f)
		if err != nil {
			return fmt.Errorf("watch %s: %w", f, err)
		}
		files[abs] = true
		if err := w.Add(filepath.Dir(abs)); err != nil {
			return fmt.Errorf("watch %s: %w", filepath.Dir(abs), err)
		}
	}
	log.Info("watching for changes", "file", path, "secret", live.Load().DB.PasswordFile)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("stopped watching")
			return nil
		case err := <-w.Errors:
			log.Warn("watch error, still watching", "err", err)
		case ev := <-w.Events:
			if abs, err := filepath.Abs(ev.Name); err == nil && files[abs] {
				timer.Reset(settle)
			}
		case <-timer.C:
			next, err := load(path, flags)
			if err == nil {
				err = restartOnly(live.Load(), next)
			}
			if err != nil {
				log.Warn("config change rejected, keeping the current config", "err", err)
				continue
			}
			live.Store(next)
			log.Info("config reloaded", "config", *next)
		}
	}
}

// restartOnly rejects changes to what the running process has already
// used: the listener's port and timeouts, the database URL and the
// watched password file only take effect on a restart, so a reload must
// not pretend they changed. The password itself, the origins, the log
// level and the feature flag change live.
func restartOnly(cur, next *Config) error {
	var errs []error
	if cur.HTTP != next.HTTP {
		errs = append(errs, fmt.Errorf("http: %+v -> %+v needs a restart", cur.HTTP, next.HTTP))
	}
	if cur.DB.URL != next.DB.URL {
		errs = append(errs, errors.New("db.url: changed, needs a restart"))
	}
	if cur.DB.PasswordFile != next.DB.PasswordFile {
		errs = append(errs, errors.New("db.password-file: another file needs a restart (rewrite the watched one)"))
	}
	return errors.Join(errs...)
}

// featureHandler is a consumer of the live config: it reads the current
// value on every request, so a reload applies to the next request.
// Keeping a *Config or a copy of a field would pin the old values.
func featureHandler(live *atomic.Pointer[Config]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := live.Load()
		if origin := r.Header.Get("Origin"); origin != "" {
			for _, o := range cfg.AllowedOrigins {
				if o == origin {
					w.Header().Set("Access-Control-Allow-Origin", origin)
				}
			}
		}
		fmt.Fprintf(w, "beta=%t log-level=%s\n", cfg.Beta, cfg.LogLevel)
	})
}
