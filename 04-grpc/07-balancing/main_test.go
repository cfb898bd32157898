package main

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"

	"github.com/go-course/part4-infrastructure/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun: round_robin gives each server a third of the calls, before and
// after the servers closed their first connections at MaxConnectionAge
// (without it run fails: no server accepts a second connection).
func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), func(string) string { return "" }, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	testkit.CheckReadme(t, 0, out.String())
}
