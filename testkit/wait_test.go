package testkit_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
)

func TestEventually(t *testing.T) {
	t.Run("returns_once_the_condition_holds", func(t *testing.T) {
		calls := 0
		testkit.Eventually(t, 5*time.Second, func() error {
			calls++
			if calls < 3 {
				return errors.New("not yet")
			}
			return nil
		})
		if calls != 3 {
			t.Fatalf("condition called %d times, want 3", calls)
		}
	})
	t.Run("fails_with_the_last_error_after_the_deadline", func(t *testing.T) {
		r := &fatalRecorder{TB: t}
		testkit.Eventually(r, 50*time.Millisecond, func() error { return errors.New("still refused") })
		if !strings.Contains(r.msg, "not true after 50ms: still refused") {
			t.Fatalf("failure = %q", r.msg)
		}
	})
}

// fatalRecorder captures Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
}

func TestBufferConcurrentWriteAndRead(t *testing.T) {
	var b testkit.Buffer
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i) })
	}
	for range 10 {
		_ = b.String() // concurrent reads: -race checks them
	}
	wg.Wait()
	if got := strings.Count(b.String(), "\n"); got != 10 || b.Len() != len(b.String()) {
		t.Fatalf("buffer holds %d lines (%d bytes): %q", got, b.Len(), b.String())
	}
}
