package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig keeps every subject under name for a day, at most 10,000
// messages or 64 MiB (oldest dropped first), refuses messages over 64 KiB,
// and remembers Nats-Msg-Id values for two minutes.
func StreamConfig(name string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{name + ".>"},
		Retention:  jetstream.LimitsPolicy, // kept until a limit, not until acked
		MaxMsgs:    10_000,
		MaxBytes:   64 << 20,
		MaxAge:     24 * time.Hour,
		MaxMsgSize: 64 << 10, // a bigger publish is refused with an error
		Discard:    jetstream.DiscardOld,
		Storage:    jetstream.FileStorage,
		Duplicates: 2 * time.Minute,
		Replicas:   1, // 3 in a cluster
	}
}

// ConsumerConfig is a durable pull consumer of the stream's orders: each
// message must be acked within AckWait or it is delivered again, at most
// MaxDeliver times (the default is unlimited: a poison message loops forever).
func ConsumerConfig(stream string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       "billing",
		FilterSubject: stream + ".orders.>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Second,
		MaxDeliver:    3,
		MaxAckPending: 100,
	}
}

// Consume handles orders until n of them reached an end (acked, terminated
// or dead-lettered) and returns each message's history by stream sequence.
func Consume(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, stream jetstream.Stream,
	cons jetstream.Consumer, n int) ([]string, error) {
	name := stream.CachedInfo().Config.Name
	dlq := name + ".dlq.orders"
	h := &histories{byseq: map[uint64][]string{}, done: make(chan struct{}, 64)}

	// The server gives up on a message after MaxDeliver and says so in an
	// advisory; that is the place to dead-letter it.
	adv, err := nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+name+".billing", func(m *nats.Msg) {
		var a struct {
			StreamSeq  uint64 `json:"stream_seq"`
			Deliveries int    `json:"deliveries"`
		}
		if err := json.Unmarshal(m.Data, &a); err != nil {
			return
		}
		raw, err := stream.GetMsg(ctx, a.StreamSeq)
		if err == nil {
			reason := fmt.Sprintf("max deliveries (%d) reached", a.Deliveries)
			_, err = deadLetter(ctx, js, dlq, name, raw.Data, a.StreamSeq, reason)
		}
		h.add(a.StreamSeq, "", fmt.Sprintf("MaxDeliver → %s (%v)", dlq, errOr(err, "dead-lettered")), true)
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe advisories: %w", err)
	}
	defer func() { _ = adv.Unsubscribe() }()

	// Consume pulls in the background; PullMaxMessages bounds what waits in
	// the client (default 500) while its AckWait is already running.
	cc, err := cons.Consume(func(m jetstream.Msg) { handle(ctx, js, dlq, h, m) },
		jetstream.PullMaxMessages(10))
	if err != nil {
		return nil, fmt.Errorf("consume: %w", err)
	}
	// Stop would return while handlers still run (and discard what is
	// buffered); Drain lets them finish and Closed says when they have.
	defer func() {
		cc.Drain()
		<-cc.Closed()
	}()
	for range n {
		select {
		case <-h.done:
		case <-ctx.Done():
			return h.lines(), fmt.Errorf("wait for %d orders: %w", n, ctx.Err())
		}
	}
	return h.lines(), nil
}

// handle plays a handler with bugs on purpose: o-2 is lost once (no ack),
// o-3 is not ready yet, o-9 always fails, bad-1 cannot be decoded. The
// history is written before the ack, which may trigger the next event.
func handle(ctx context.Context, js jetstream.JetStream, dlq string, h *histories, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		return
	}
	seq, n, id := md.Sequence.Stream, md.NumDelivered, m.Headers().Get(jetstream.MsgIDHeader)
	var o struct {
		ID string `json:"order_id"`
	}
	switch err := json.Unmarshal(m.Data(), &o); {
	case err != nil: // no retry fixes a payload: dead-letter it and stop redelivery
		reason := "decode order: " + err.Error()
		dup, err := deadLetter(ctx, js, dlq, md.Stream, m.Data(), seq, reason)
		if err != nil {
			// Not stored anywhere yet: Term would lose it. Ask for it again.
			h.add(seq, id, fmt.Sprintf("delivery %d: %s → dead letter failed (%v), NakWithDelay(1s)", n, reason, err), false)
			_ = m.NakWithDelay(time.Second)
			return
		}
		h.add(seq, id, fmt.Sprintf("delivery %d: %s → Term, %s", n, reason, map[bool]string{false: "dead-lettered", true: "already dead-lettered"}[dup]), true)
		_ = m.TermWithReason(reason)
	case o.ID == "o-2" && n == 1:
		h.add(seq, id, "delivery 1: no ack (lost)", false)
	case o.ID == "o-3" && n == 1:
		h.add(seq, id, "delivery 1: NakWithDelay(300ms)", false)
		h.nakAt.Store(seq, time.Now())
		_ = m.NakWithDelay(300 * time.Millisecond)
	case o.ID == "o-9":
		h.add(seq, id, fmt.Sprintf("delivery %d: Nak", n), false)
		_ = m.Nak() // redelivered at once: only MaxDeliver ends the loop
	default:
		when := ""
		if t, ok := h.nakAt.Load(seq); ok && time.Since(t.(time.Time)) >= 300*time.Millisecond {
			when = " (≥300ms after the nak)"
		}
		// DoubleAck waits for the server to confirm the ack.
		err := m.DoubleAck(ctx)
		h.add(seq, id, fmt.Sprintf("delivery %d%s: %s", n, when, errOr(err, "acked")), true)
	}
}

// deadLetter stores a failed message under the DLQ subject with the reason.
// Its Nats-Msg-Id is the original stream and sequence, which every message
// has (its own Nats-Msg-Id may be empty), so dead-lettering the same message
// again within the dedup window is a no-op the server reports as Duplicate.
func deadLetter(ctx context.Context, js jetstream.JetStream, subject, stream string, data []byte, seq uint64, reason string) (duplicate bool, err error) {
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set("X-Error", reason)
	m.Header.Set("X-Original-Stream", stream)
	m.Header.Set("X-Original-Seq", fmt.Sprint(seq))
	ack, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(fmt.Sprintf("dlq-%s-%d", stream, seq)))
	if err != nil {
		return false, fmt.Errorf("dead-letter %s #%d: %w", stream, seq, err)
	}
	// Duplicate: an earlier attempt stored it already, which is just as good.
	return ack.Duplicate, nil
}

func errOr(err error, ok string) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return ok
}

// histories collects what happened to each message, from several goroutines.
type histories struct {
	mu    sync.Mutex
	byseq map[uint64][]string
	ids   map[uint64]string
	nakAt sync.Map // stream seq → when NakWithDelay was sent
	done  chan struct{}
}

func (h *histories) add(seq uint64, id, event string, final bool) {
	h.mu.Lock()
	if h.ids == nil {
		h.ids = map[uint64]string{}
	}
	if id != "" {
		h.ids[seq] = id
	}
	h.byseq[seq] = append(h.byseq[seq], event)
	h.mu.Unlock()
	if final {
		h.done <- struct{}{}
	}
}

func (h *histories) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lines []string
	for _, seq := range slices.Sorted(maps.Keys(h.byseq)) {
		lines = append(lines, fmt.Sprintf("seq %d %s: %s", seq, h.ids[seq], strings.Join(h.byseq[seq], "; ")))
	}
	return lines
}
