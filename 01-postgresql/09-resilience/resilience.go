package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sony/gobreaker/v2"
)

// Policy configures retries and the circuit breaker.
type Policy struct {
	MaxTries     uint          // attempts per call, the first included
	InitialDelay time.Duration // first backoff; it doubles, with ±50% jitter
	MaxDelay     time.Duration
	TripAfter    uint32        // consecutive failures that open the breaker
	OpenFor      time.Duration // how long it stays open before a half-open probe
	// AttemptTimeout bounds each attempt (0: only the caller's ctx). An
	// idempotent attempt that runs out of it is retried while the caller's
	// ctx has time left: a stuck connection costs one attempt, not the call.
	AttemptTimeout time.Duration
	// OnRetry, if set, is called before each wait (logging, metrics).
	OnRetry func(err error, wait time.Duration)
}

// Guard runs database calls with retries inside a deadline and a circuit
// breaker. It is safe for concurrent use.
type Guard struct {
	policy  Policy
	breaker *gobreaker.CircuitBreaker[struct{}]
}

// NewGuard returns a Guard whose breaker counts only failures of the
// database itself: an error the server answered with (a constraint
// violation, say) means the database is up.
func NewGuard(p Policy) *Guard {
	return &Guard{policy: p, breaker: gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         "postgres",
		MaxRequests:  1, // one probe in half-open
		Timeout:      p.OpenFor,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= p.TripAfter },
		IsSuccessful: func(err error) bool { return err == nil || answered(err) },
		// The caller giving up says nothing about the database.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
	})}
}

// answered reports whether the database itself answered the call: a
// constraint violation or a serialization failure means it is up. Errors of
// class 08 (connection), 53 (too many connections, out of resources) and 57
// (shutting down, starting up, statement timeout) mean it is not.
func answered(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, class := range []string{"08", "53", "57"} {
		if strings.HasPrefix(pgErr.Code, class) {
			return false
		}
	}
	return true
}

// State is the breaker's state: closed, open or half-open.
func (g *Guard) State() string { return g.breaker.State().String() }

// Do runs fn until it succeeds, fails with an error that is not safe to
// retry, the breaker is open, MaxTries is reached or ctx ends. It returns
// the number of attempts made. An idempotent fn (an upsert keyed by a
// request id, say) may be retried even when the connection broke after the
// request was sent; any other fn only when nothing reached the server.
func (g *Guard) Do(ctx context.Context, idempotent bool, fn func(context.Context) error) (int, error) {
	attempts := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempts++
		_, err := g.breaker.Execute(func() (struct{}, error) { return struct{}{}, g.attempt(ctx, fn) })
		// The attempt's own deadline passed, the caller's has not.
		attemptTimedOut := idempotent && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)
		if err != nil && !Retryable(err, idempotent) && !attemptTimedOut {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	},
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval:     g.policy.InitialDelay,
			RandomizationFactor: 0.5, // jitter: clients that failed together retry apart
			Multiplier:          2,
			MaxInterval:         g.policy.MaxDelay,
		}),
		backoff.WithMaxTries(g.policy.MaxTries),
		backoff.WithMaxElapsedTime(0), // the ctx deadline bounds the call
		backoff.WithNotify(g.policy.OnRetry),
	)
	return attempts, err
}

// attempt runs fn under the policy's AttemptTimeout, if any.
func (g *Guard) attempt(ctx context.Context, fn func(context.Context) error) error {
	if g.policy.AttemptTimeout <= 0 {
		return fn(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, g.policy.AttemptTimeout)
	defer cancel()
	return fn(ctx)
}

// Retryable reports whether another attempt may succeed and cannot do harm.
func Retryable(err error, idempotent bool) bool {
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return false // fail fast while the breaker is open
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected: the tx was rolled back
			return true
		case "57P03": // cannot_connect_now: the server is starting up
			return true
		case "53300": // too_many_connections: refused at startup, nothing ran
			return true
		}
		return false // unique violation, syntax error, ...: the same again fails the same
	}
	// Nothing was sent: a failed dial, a pool that could not hand out a conn.
	var connectErr *pgconn.ConnectError
	if pgconn.SafeToRetry(err) || errors.As(err, &connectErr) {
		return true
	}
	// The connection broke mid-request: the server may have done the work.
	var netErr net.Error
	broken := errors.As(err, &netErr) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed)
	return broken && idempotent
}
