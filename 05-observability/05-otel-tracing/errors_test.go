package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// OTel errors are counted and shown, one per interval with the number held
// back; export errors are left to the exit line.
func TestErrorReporter(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	r := newErrorReporter(&out, time.Hour)
	r.Handle(errors.New("propagator: bad header"))
	r.Handle(errors.New("second"))
	r.Handle(errors.New("third"))
	r.Handle(exportError{errors.New("connection refused")})
	if got, want := out.String(), "otel error 1: propagator: bad header\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if r.count() != 3 {
		t.Errorf("count %d, want 3", r.count())
	}

	out.Reset()
	r = newErrorReporter(&out, 0) // no rate limit: each one printed
	r.Handle(errors.New("a"))
	r.Handle(errors.New("b"))
	if got, want := out.String(), "otel error 1: a\notel error 2: b\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}
