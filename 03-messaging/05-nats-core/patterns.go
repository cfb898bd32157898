package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// PubSub subscribes to pattern, publishes one message to each subject and
// returns what the subscription received, in order.
func PubSub(ctx context.Context, nc *nats.Conn, pattern string, subjects ...string) ([]*nats.Msg, error) {
	sub, err := nc.SubscribeSync(pattern)
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", pattern, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	for _, s := range subjects {
		if err := nc.Publish(s, []byte("o-1")); err != nil {
			return nil, fmt.Errorf("publish %s: %w", s, err)
		}
	}
	var got []*nats.Msg
	for range subjects {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("receive on %s: %w", pattern, err)
		}
		got = append(got, m)
	}
	return got, nil
}

// Share publishes n jobs to subject, read by two members of one queue group
// (the server gives each job to one of them) and by two plain subscribers
// (each gets every job); it returns both delivery counts.
func Share(ctx context.Context, nc *nats.Conn, subject string, n int) (queued, plain int64, err error) {
	var q, p atomic.Int64
	for range 2 {
		worker, err := nc.QueueSubscribe(subject, "workers", func(*nats.Msg) { q.Add(1) })
		if err != nil {
			return 0, 0, fmt.Errorf("queue subscribe %s: %w", subject, err)
		}
		defer func() { _ = worker.Unsubscribe() }()
		listener, err := nc.Subscribe(subject, func(*nats.Msg) { p.Add(1) })
		if err != nil {
			return 0, 0, fmt.Errorf("subscribe %s: %w", subject, err)
		}
		defer func() { _ = listener.Unsubscribe() }()
	}
	for i := range n {
		if err := nc.Publish(subject, fmt.Append(nil, i)); err != nil {
			return 0, 0, fmt.Errorf("publish %s: %w", subject, err)
		}
	}
	// After the flush the server has routed every job; wait for the handlers.
	if err := nc.FlushWithContext(ctx); err != nil {
		return 0, 0, fmt.Errorf("flush: %w", err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for q.Load() < int64(n) || p.Load() < 2*int64(n) {
		select {
		case <-ctx.Done():
			return q.Load(), p.Load(), fmt.Errorf("wait for deliveries: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return q.Load(), p.Load(), nil
}

// RequestReply makes three requests: one answered, one to a responder that
// never answers, one to a subject nobody listens on.
func RequestReply(ctx context.Context, nc *nats.Conn, prefix string) ([]string, error) {
	for subj, reply := range map[string][]byte{prefix + ".price": []byte("42.00 EUR"), prefix + ".silent": nil} {
		sub, err := nc.Subscribe(subj, func(m *nats.Msg) {
			if reply != nil {
				_ = m.Respond(reply) // a lost reply is the requester's timeout
			}
		})
		if err != nil {
			return nil, fmt.Errorf("subscribe %s: %w", subj, err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	var lines []string
	for _, subj := range []string{prefix + ".price", prefix + ".silent", prefix + ".nobody"} {
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		m, err := nc.RequestWithContext(rctx, subj, []byte("sku-1"))
		cancel()
		switch {
		case err == nil:
			lines = append(lines, fmt.Sprintf("request %s: reply %s", subj, m.Data))
		case errors.Is(err, context.DeadlineExceeded):
			lines = append(lines, fmt.Sprintf("request %s: no reply within 200ms: %v", subj, err))
		case errors.Is(err, nats.ErrNoResponders):
			// The server answers at once when no one is subscribed (2.2+).
			lines = append(lines, fmt.Sprintf("request %s: %v", subj, err))
		default:
			lines = append(lines, fmt.Sprintf("request %s: error: %v", subj, err))
		}
	}
	return lines, nil
}
