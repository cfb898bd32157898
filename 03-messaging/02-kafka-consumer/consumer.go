package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Headers the consumer writes on forwarded messages.
const (
	HeaderAttempt = "x-attempt" // attempts made so far, "1", "2", ...
	HeaderError   = "x-error"   // why the last attempt failed
	HeaderOrigin  = "x-origin"  // topic/partition/offset of the original
)

// Result is the final fate of one message.
type Result string

// The results a message can end with.
const (
	Applied      Result = "applied"
	Duplicate    Result = "duplicate"
	DeadLettered Result = "dead-lettered"
	Retrying     Result = "retrying" // not final: sent to the retry topic
)

// Outcome reports what the consumer did with one delivery.
type Outcome struct {
	Msg      kafka.Message
	Result   Result
	Attempts int
	Err      error
}

// ErrDuplicate tells the consumer the effect was already there: not a failure.
var ErrDuplicate = errors.New("duplicate: effect already applied")

// Permanent marks an error no retry can fix (an undecodable payload, an
// unknown type): the message goes straight to the dead-letter topic.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// Consumer reads a topic in a consumer group and hands each message to
// Handle; a failed message goes to RetryTopic, after MaxAttempts to DLQTopic,
// with the error in a header. An offset is committed only after its message
// was handled or forwarded, so a crash replays it (at-least-once): Handle
// must be idempotent.
type Consumer struct {
	Reader      kafka.ReaderConfig // Topic and GroupID set; the retry reader copies it
	Out         *kafka.Writer      // no Topic: forwards to RetryTopic and DLQTopic
	RetryTopic  string
	DLQTopic    string
	MaxAttempts int
	RetryDelay  time.Duration
	Handle      func(ctx context.Context, m kafka.Message) error
	Report      func(Outcome) // optional
}

// Run consumes the main and the retry topic until ctx ends, then finishes the
// message in hand, commits and leaves the group. It returns the first error
// that stopped a loop (nil on a clean shutdown).
func (c *Consumer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	retry := c.Reader
	retry.Topic, retry.GroupID = c.RetryTopic, c.Reader.GroupID+"-retry"
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, cfg := range []kafka.ReaderConfig{c.Reader, retry} {
		wg.Go(func() {
			if errs[i] = c.loop(ctx, cfg, i == 1); errs[i] != nil {
				cancel() // one loop failed: stop the other
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Consumer) loop(ctx context.Context, cfg kafka.ReaderConfig, delayed bool) error {
	r := kafka.NewReader(cfg)
	// Close commits what CommitMessages queued (CommitInterval) and leaves the
	// group, so the partitions move at once instead of after SessionTimeout.
	defer r.Close()
	for {
		// FetchMessage does not commit; ReadMessage with a GroupID commits
		// before the message is processed (kafka-go #626).
		m, err := r.FetchMessage(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("fetch %s: %w", cfg.Topic, err)
		}
		if delayed && !waitUntil(ctx, m.Time.Add(c.RetryDelay)) {
			return nil // shutting down: not committed, redelivered later
		}
		// The message in hand is finished even when shutdown began.
		work, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = c.process(work, m)
		if err == nil {
			// Commits are cumulative: committing this offset also commits every
			// earlier one, so nothing before it may still be unhandled (#764).
			err = r.CommitMessages(work, m)
		}
		cancel()
		if err != nil {
			return err // not committed: this message comes again after a restart
		}
	}
}

// process handles m, or forwards it to the retry or dead-letter topic.
func (c *Consumer) process(ctx context.Context, m kafka.Message) error {
	attempt := attempts(m) + 1
	err := c.Handle(ctx, m)
	out := Outcome{Msg: m, Attempts: attempt, Err: err, Result: Applied}
	switch {
	case err == nil:
	case errors.Is(err, ErrDuplicate):
		out.Result, out.Err = Duplicate, nil
	default:
		var p permanentError
		to := c.RetryTopic
		out.Result = Retrying
		if errors.As(err, &p) || attempt >= c.MaxAttempts {
			to, out.Result = c.DLQTopic, DeadLettered
		}
		if ferr := c.forward(ctx, m, to, attempt, err); ferr != nil {
			return ferr
		}
	}
	if c.Report != nil {
		c.Report(out)
	}
	return nil
}

// forward writes m to topic with the attempt count, the error and the
// original position; it must succeed before the original is committed.
func (c *Consumer) forward(ctx context.Context, m kafka.Message, topic string, attempt int, cause error) error {
	origin := fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset)
	headers := []kafka.Header{
		{Key: HeaderAttempt, Value: []byte(strconv.Itoa(attempt))},
		{Key: HeaderError, Value: []byte(cause.Error())},
	}
	if h, ok := header(m, HeaderOrigin); ok {
		origin = h // keep the first position across retries
	}
	headers = append(headers, kafka.Header{Key: HeaderOrigin, Value: []byte(origin)})
	for _, h := range m.Headers {
		if h.Key != HeaderAttempt && h.Key != HeaderError && h.Key != HeaderOrigin {
			headers = append(headers, h)
		}
	}
	err := c.Out.WriteMessages(ctx, kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: headers})
	if err != nil {
		return fmt.Errorf("forward %s to %s: %w", origin, topic, err)
	}
	return nil
}

func attempts(m kafka.Message) int {
	v, _ := header(m, HeaderAttempt)
	n, _ := strconv.Atoi(v)
	return n
}

func header(m kafka.Message, key string) (string, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// waitUntil sleeps until t or until ctx ends; it reports whether t came.
func waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// NewConsumer returns a Consumer of topic in group, with <topic>.retry and
// <topic>.dlq beside it; Handle is left to the caller.
func NewConsumer(brokers []string, topic, group string) *Consumer {
	return &Consumer{
		Reader: kafka.ReaderConfig{
			Brokers: brokers, Topic: topic, GroupID: group,
			StartOffset: kafka.FirstOffset, // a new group reads from the start
			MaxWait:     250 * time.Millisecond,
			// Offsets go to the broker every second and on Close: a crash
			// replays up to a second of messages, which Handle must absorb.
			CommitInterval: time.Second,
			// A silent member loses its partitions after 6 s (default 30 s).
			HeartbeatInterval: 500 * time.Millisecond, SessionTimeout: 6 * time.Second,
			RebalanceTimeout: 5 * time.Second, JoinGroupBackoff: 500 * time.Millisecond,
		},
		Out: &kafka.Writer{Addr: kafka.TCP(brokers...), Balancer: kafka.Murmur2Balancer{},
			RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond},
		RetryTopic: topic + ".retry", DLQTopic: topic + ".dlq",
		MaxAttempts: 3, RetryDelay: 500 * time.Millisecond,
	}
}

// CreateTopics creates each topic with n partitions unless it exists.
func CreateTopics(ctx context.Context, brokers []string, n int, topics ...string) error {
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: n, ReplicationFactor: -1})
	}
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := c.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for t, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t, err)
		}
	}
	return nil
}

// Tally collects outcomes from the consumer's goroutines.
type Tally struct {
	mu   sync.Mutex
	outs []Outcome
}

// Add is a Consumer.Report function.
func (t *Tally) Add(o Outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outs = append(t.outs, o)
}

// WaitFinal waits until n outcomes are final (not Retrying) or ctx ends.
func (t *Tally) WaitFinal(ctx context.Context, n int) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if t.Final() >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Final counts outcomes that end a message's journey.
func (t *Tally) Final() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, o := range t.outs {
		if o.Result != Retrying {
			n++
		}
	}
	return n
}

// Lines describes every outcome, by key and attempt.
func (t *Tally) Lines() []string {
	t.mu.Lock()
	outs := slices.Clone(t.outs)
	t.mu.Unlock()
	slices.SortStableFunc(outs, func(a, b Outcome) int {
		return cmp.Or(strings.Compare(string(a.Msg.Key), string(b.Msg.Key)), a.Attempts-b.Attempts)
	})
	lines := make([]string, len(outs))
	for i, o := range outs {
		what := map[Result]string{Applied: "applied", Duplicate: "duplicate, effect skipped",
			Retrying: "failed → retry topic", DeadLettered: "failed → DLQ"}[o.Result]
		lines[i] = fmt.Sprintf("%s: attempt %d %s", o.Msg.Key, o.Attempts, what)
		if o.Err != nil {
			lines[i] += ": " + o.Err.Error()
		}
	}
	return lines
}
