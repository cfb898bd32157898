package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
)

// A malformed URL is refused with what is wrong, and the password in it
// reaches no format of the error chain and no output line.
func TestRun_rejects_malformed_url_without_leaking_the_password(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-Pw0rd"
	for _, tt := range []struct{ env, url, want string }{
		{"DATABASE_URL", "postgres://app:" + secret + "@localhost:54x2/app", "invalid port"},
		{"DATABASE_URL", "postgres://app:" + secret + "@localhost/app?sslmode=bogus", "failed to configure TLS (sslmode is invalid)"},
	} {
		t.Run(tt.env+"/"+tt.want, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(t.Context(), nil, testkit.Getenv(t, map[string]string{tt.env: tt.url}), &out)
			if err == nil || err.Error() != "parse "+tt.env+": "+tt.want {
				t.Fatalf("err = %v, want %q", err, "parse "+tt.env+": "+tt.want)
			}
			testkit.NoSecret(t, err, secret)
			if strings.Contains(out.String(), secret) {
				t.Errorf("the password is in the output:\n%s", out.String())
			}
		})
	}
}
