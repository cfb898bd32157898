package testkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// NoSecret fails the test if any secret appears in err: formatted with %v,
// %+v and %#v (which prints exported fields such as
// pgconn.ParseConfigError.ConnString), and the same for every error of its
// chain, through Unwrap() error and Unwrap() []error, which is what an
// errors.As caller or a logger that walks the chain gets to see.
//
// It is the one assertion every bad-URL and bad-secret test of the repository
// makes; the repository spells its mask [REDACTED].
func NoSecret(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Error("NoSecret: no error to check")
		return
	}
	for _, e := range chain(err) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			text := fmt.Sprintf(verb, e)
			for _, s := range secrets {
				if s != "" && strings.Contains(text, s) {
					t.Errorf("a secret leaks through %s of %T in the error chain of %q", verb, e, err.Error())
				}
			}
		}
	}
}

// chain lists err and every error it wraps, depth first.
func chain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) { //nolint:errorlint // walks the chain itself, one link at a time
	case interface{ Unwrap() error }:
		out = append(out, chain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, chain(e)...)
		}
	}
	return out
}

// Mask is the repository's one spelling of a hidden secret.
const Mask = "[REDACTED]"

// Redacted fails the test unless every way a program prints, logs or
// encodes values hides secret behind Mask: fmt's %v, %+v and %#v, %s and
// %q, log/slog's text and JSON handlers, encoding/json, an error that
// quotes them, and — for a slog.LogValuer — the resolved value a
// reflection-based handler (some zap and zerolog bridges) would encode.
// Pass the config struct and the secret itself: a struct's %#v reaches a
// field's GoString only when the field is exported.
func Redacted(t testing.TB, secret string, values ...any) {
	t.Helper()
	join := func(verb string) string {
		parts := make([]string, len(values))
		for i, v := range values {
			parts[i] = fmt.Sprintf(verb, v)
		}
		return strings.Join(parts, " | ")
	}
	var text, js bytes.Buffer
	args := make([]any, 0, 2*len(values))
	for i, v := range values {
		args = append(args, fmt.Sprintf("v%d", i), v)
	}
	slog.New(slog.NewTextHandler(&text, nil)).Info("loaded", args...)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("loaded", args...)
	encoded, err := json.Marshal(values)
	if err != nil {
		t.Errorf("Redacted: json.Marshal: %v", err)
	}
	outputs := map[string]string{
		"%v": join("%v"), "%+v": join("%+v"), "%#v": join("%#v"),
		"slog text": text.String(), "slog json": js.String(), "json": string(encoded),
		"error chain": fmt.Errorf("connect: %w", errors.New("login with "+join("%v")+" refused")).Error(),
	}
	for i, v := range values {
		if _, ok := v.(fmt.Stringer); ok {
			outputs[fmt.Sprintf("%%s %%q of value %d", i)] = fmt.Sprintf("%s %q", v, v)
		}
		if lv, ok := v.(slog.LogValuer); ok {
			r := slog.AnyValue(lv).Resolve()
			out := r.String() // a group: its attributes
			if r.Kind() != slog.KindGroup {
				out = reflect.ValueOf(r.Any()).String()
			}
			outputs[fmt.Sprintf("slog resolved value %d", i)] = out
		}
	}
	for format, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("the secret shows through %s: %s", format, out)
		} else if !strings.Contains(out, Mask) {
			t.Errorf("%s does not show the mask %s: %s", format, Mask, out)
		}
	}
}

// SecretFilePolicy checks read (which loads a secret from the file at
// path) against the repository's one rule for secret files: one trailing
// newline, as echo and editors leave, is dropped; any other line break
// (CRLF included) and an empty file are errors that contain
// errPrefix(path) followed by "has a line break inside" or "is empty", and
// never the file's content.
func SecretFilePolicy(t *testing.T, read func(t *testing.T, path string) (string, error), errPrefix func(path string) string) {
	t.Helper()
	for name, tt := range map[string]struct {
		content, want, err string
	}{
		"plain":               {"s3cret-value", "s3cret-value", ""},
		"one_newline_dropped": {"s3cret-value\n", "s3cret-value", ""},
		"two_newlines":        {"s3cret-value\n\n", "", "has a line break inside"},
		"line_break_inside":   {"s3cret\nvalue", "", "has a line break inside"},
		"windows_line_end":    {"s3cret-value\r\n", "", "has a line break inside"},
		"only_a_newline":      {"\n", "", "is empty"},
		"empty":               {"", "", "is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pw")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := read(t, path)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("password = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), errPrefix(path)+tt.err) {
				t.Fatalf("error = %v, want %q", err, errPrefix(path)+tt.err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the content: %v", err)
			}
		})
	}
}
