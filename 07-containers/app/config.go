package main

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// config is everything the service reads, from the environment only: a
// container image is the same in every environment, the orchestrator sets
// the variables (12-factor). Each error names the variable.
type config struct {
	HTTPAddr        string        // HTTP_ADDR
	DatabaseURL     *url.URL      // DATABASE_URL, password replaced by DATABASE_PASSWORD_FILE
	RedisAddr       string        // REDIS_ADDR
	OTLPEndpoint    string        // OTEL_EXPORTER_OTLP_ENDPOINT
	ServiceName     string        // OTEL_SERVICE_NAME
	CacheTTL        time.Duration // CACHE_TTL
	ShutdownDelay   time.Duration // SHUTDOWN_DELAY: 503 on /readyz before the server stops
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT: drain budget, under terminationGracePeriodSeconds
	MemoryLimit     int64         // MEMORY_LIMIT: bytes, from the Downward API
}

func loadConfig(getenv func(string) string) (*config, error) {
	c := &config{
		HTTPAddr:     cmp.Or(getenv("HTTP_ADDR"), ":8080"),
		RedisAddr:    cmp.Or(getenv("REDIS_ADDR"), "localhost:6379"),
		OTLPEndpoint: cmp.Or(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://localhost:4318"),
		ServiceName:  cmp.Or(getenv("OTEL_SERVICE_NAME"), "app"),
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return nil, fmt.Errorf("HTTP_ADDR: %q is not host:port", c.HTTPAddr)
	}
	if _, _, err := net.SplitHostPort(c.RedisAddr); err != nil {
		return nil, fmt.Errorf("REDIS_ADDR: %q is not host:port", c.RedisAddr)
	}
	if u, err := url.Parse(c.OTLPEndpoint); err != nil || u.Host == "" ||
		(u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("OTEL_EXPORTER_OTLP_ENDPOINT: want http(s)://host:port")
	}
	var err error
	if c.DatabaseURL, err = databaseURL(getenv); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"CACHE_TTL", &c.CacheTTL, time.Minute},
		{"SHUTDOWN_DELAY", &c.ShutdownDelay, 5 * time.Second},
		{"SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, 20 * time.Second},
	} {
		if *d.dst, err = duration(getenv, d.name, d.def); err != nil {
			return nil, err
		}
	}
	if s := getenv("MEMORY_LIMIT"); s != "" {
		if c.MemoryLimit, err = strconv.ParseInt(s, 10, 64); err != nil || c.MemoryLimit <= 0 {
			return nil, fmt.Errorf("MEMORY_LIMIT: %q is not a number of bytes", s)
		}
	}
	return c, nil
}

// databaseURL parses DATABASE_URL without ever echoing it. url.Parse errors
// quote the whole URL, and even their reason alone can hold the password:
// the parser cuts the authority at the first / ? or #, so a password with
// one of them yields `invalid port ":s3cr" after host`. The message is fixed.
// When the piece before the cut looks like a port (app:1234/x@db) the parse
// succeeds with the wrong host; an @ after the authority gives that away.
func databaseURL(getenv func(string) string) (*url.URL, error) {
	raw := cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app")
	errInvalid := errors.New("DATABASE_URL: not a valid URL (percent-encode special characters in the password)")
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errInvalid
	}
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if i := strings.IndexAny(rest, "/?#"); i >= 0 && strings.Contains(rest[i:], "@") {
			return nil, errInvalid
		}
	}
	if (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, errors.New("DATABASE_URL: want postgres://user@host:port/db")
	}
	// Docker and Kubernetes mount secrets as files; the file wins over a
	// password in the URL, which would show in `docker inspect`.
	if path := getenv("DATABASE_PASSWORD_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_PASSWORD_FILE: %w", err)
		}
		pw := string(b)
		switch {
		case pw == "":
			return nil, errors.New("DATABASE_PASSWORD_FILE: the file is empty")
		case strings.ContainsAny(pw, "\r\n"):
			return nil, errors.New("DATABASE_PASSWORD_FILE: the file has a line break (write it with printf, not echo)")
		}
		u.User = url.UserPassword(u.User.Username(), pw)
	}
	return u, nil
}

func duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a duration such as 5s or 1m", name, s)
	}
	return d, nil
}

// redacted is a URL fit for logs: the password shows as [REDACTED].
func redacted(u *url.URL) string {
	if _, ok := u.User.Password(); !ok {
		return u.String()
	}
	c := *u
	c.User = url.User(u.User.Username())
	s := c.String()
	return strings.Replace(s, "@", ":[REDACTED]@", 1)
}
