package testkit

import "testing"

// RequireMode is Require with the -short decision made by the caller, so
// the tests of Require run the same under go test and go test -short.
func RequireMode(t testing.TB, s Service, short bool) string {
	t.Helper()
	return require(t, s, short)
}
