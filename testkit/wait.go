package testkit

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// pollInterval is how often Eventually retries its condition.
const pollInterval = 20 * time.Millisecond

// Eventually retries cond until it returns nil and fails the test with
// cond's last error when d passes or the test's context ends. It is how a
// test waits for something asynchronous: never a bare time.Sleep.
func Eventually(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-timeout.C:
			t.Fatalf("not true after %s: %v", d, err)
			return
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting: %v", err)
			return
		case <-tick.C:
		}
	}
}

// Buffer is a bytes.Buffer that a test may read while the code under test
// writes to it from another goroutine.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len is the number of bytes written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}
