package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSelectExamples(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"01-a/go.mod", "01-a/01-x/main.go", "01-a/02-y/main.go", "01-a/internal/z.go", "02-b/go.mod"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "01-a/01-x 01-a/02-y"},
		{[]string{"1"}, "01-a/01-x 01-a/02-y"},
		{[]string{"01"}, "01-a/01-x 01-a/02-y"},
		{[]string{"01-a"}, "01-a/01-x 01-a/02-y"},
		{[]string{"2"}, ""},
		{[]string{"./01-a/02-y/"}, "01-a/02-y"},
		{[]string{"01-a/01-x/README.md"}, "01-a/01-x"},
	} {
		got, err := selectExamples(root, tt.args)
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("selectExamples(%q) = %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
	for _, bad := range [][]string{{"9"}, {"01-a/internal"}} {
		if _, err := selectExamples(root, bad); err == nil {
			t.Errorf("selectExamples(%q) accepted", bad)
		}
	}
}

func TestRunSectionWithoutNIsAUsageError(t *testing.T) {
	err := runVerify(t.Context(), t.TempDir(), "run-section", nil, new(strings.Builder))
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "make run-section N") {
		t.Fatalf("err = %v, want a usage error", err)
	}
}
