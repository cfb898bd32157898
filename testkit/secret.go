package testkit

import (
	"fmt"
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
