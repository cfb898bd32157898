package contract

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Message is what the suite publishes: ID identifies it (and is the dedup
// id where the broker has one), Key selects the partition or ordering key.
type Message struct {
	ID, Key string
	Body    []byte
}

// Delivery is one received message and the way to acknowledge it.
type Delivery struct {
	Message
	Ack func(context.Context) error
}

// Guarantees is what an adapter declares; the suite checks every true
// field and the table prints them.
type Guarantees struct {
	// Redelivery: a message received and not acknowledged by a consumer
	// that goes away is delivered again to the group.
	Redelivery bool
	// RedeliveryVia says what brings it back (shown in the table).
	RedeliveryVia string
	// KeyOrderInGroup: with two members sharing a group, each key's
	// messages arrive in publish order at one member. Every broker keeps
	// order for a single consumer; this is the stronger claim.
	KeyOrderInGroup bool
	// Replay: a new group reads messages other groups already acknowledged.
	Replay bool
	// Dedup: a second publish with the same ID is not delivered again.
	Dedup bool
	// Retention describes when the broker deletes a message (table only;
	// "kept after ack" is what Replay checks).
	Retention string
}

// Broker is one adapter.
type Broker interface {
	Name() string
	Guarantees() Guarantees
	// Topic creates a fresh topic/queue/stream for one test and removes
	// it when the test ends.
	Topic(t *testing.T) Topic
}

// Topic is where a test publishes and subscribes.
type Topic interface {
	// Publish stores every message (confirmed by the broker) or fails.
	Publish(ctx context.Context, msgs ...Message) error
	// Subscribe joins group as one member. Close on the Subscriber leaves
	// without acknowledging what it holds, like a crash.
	Subscribe(t *testing.T, group string) Subscriber
}

// Subscriber is one member of a group.
type Subscriber interface {
	// Next waits for the next message until ctx ends.
	Next(ctx context.Context) (Delivery, error)
	Close() error
}

const wait = 30 * time.Second

func msgs(prefix string, n int) []Message {
	out := make([]Message, n)
	for i := range out {
		out[i] = Message{ID: fmt.Sprintf("%s-%03d", prefix, i), Key: "k" + strconv.Itoa(i%3),
			Body: []byte(strconv.Itoa(i))}
	}
	return out
}

// consume reads from s until want distinct IDs arrived, acking each.
func consume(t *testing.T, s Subscriber, want int) []Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	var got []Delivery
	seen := map[string]bool{}
	for len(seen) < want {
		d, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("after %d of %d: %v", len(seen), want, err)
		}
		if err := d.Ack(ctx); err != nil {
			t.Fatalf("ack %s: %v", d.ID, err)
		}
		seen[d.ID] = true
		got = append(got, d)
	}
	return got
}

// Run runs the contract against b.
func Run(t *testing.T, b Broker) {
	g := b.Guarantees()
	t.Run("publish_n_consume_n", func(t *testing.T) {
		t.Parallel()
		topic := b.Topic(t)
		sent := msgs("m", 50)
		if err := topic.Publish(t.Context(), sent...); err != nil {
			t.Fatal(err)
		}
		got := consume(t, topic.Subscribe(t, "g1"), len(sent))
		ids := map[string]bool{}
		for _, d := range got {
			ids[d.ID] = true
		}
		for _, m := range sent {
			if !ids[m.ID] {
				t.Errorf("%s published, not consumed", m.ID)
			}
		}
	})
	t.Run("order_per_key_single_consumer", func(t *testing.T) {
		t.Parallel()
		topic := b.Topic(t)
		if err := topic.Publish(t.Context(), msgs("o", 40)...); err != nil {
			t.Fatal(err)
		}
		checkOrder(t, map[string][]Delivery{"one": consume(t, topic.Subscribe(t, "g1"), 40)})
	})
	t.Run("resume_after_restart", func(t *testing.T) {
		t.Parallel()
		topic := b.Topic(t)
		if err := topic.Publish(t.Context(), msgs("r", 10)...); err != nil {
			t.Fatal(err)
		}
		first := topic.Subscribe(t, "g1")
		done := consume(t, first, 5)
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]bool{}
		for _, d := range done {
			acked[d.ID] = true
		}
		rest := consume(t, topic.Subscribe(t, "g1"), 10-len(acked))
		for _, d := range rest {
			if acked[d.ID] {
				t.Errorf("%s acked before the restart, delivered again", d.ID)
			}
		}
	})
	t.Run("load_sharing", func(t *testing.T) { t.Parallel(); loadSharing(t, b, g) })
	if g.Redelivery {
		t.Run("unacked_redelivered", func(t *testing.T) {
			t.Parallel()
			topic := b.Topic(t)
			if err := topic.Publish(t.Context(), Message{ID: "x", Key: "k", Body: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			crashed := topic.Subscribe(t, "g1")
			ctx, cancel := context.WithTimeout(t.Context(), wait)
			defer cancel()
			if d, err := crashed.Next(ctx); err != nil || d.ID != "x" {
				t.Fatalf("first delivery: %v %v", d.ID, err)
			}
			if err := crashed.Close(); err != nil { // no ack
				t.Fatal(err)
			}
			if got := consume(t, topic.Subscribe(t, "g1"), 1); got[0].ID != "x" {
				t.Fatalf("redelivered %q, want x", got[0].ID)
			}
		})
	}
	if g.Replay {
		t.Run("new_group_replays", func(t *testing.T) {
			t.Parallel()
			topic := b.Topic(t)
			if err := topic.Publish(t.Context(), msgs("p", 5)...); err != nil {
				t.Fatal(err)
			}
			consume(t, topic.Subscribe(t, "g1"), 5)
			consume(t, topic.Subscribe(t, "g2"), 5)
		})
	}
	if g.Dedup {
		t.Run("repeated_id_dropped", func(t *testing.T) {
			t.Parallel()
			topic := b.Topic(t)
			m := Message{ID: "same", Key: "k", Body: []byte("1")}
			last := Message{ID: "last", Key: "k", Body: []byte("2")}
			if err := topic.Publish(t.Context(), m, m, last); err != nil {
				t.Fatal(err)
			}
			s := topic.Subscribe(t, "g1")
			got := consume(t, s, 2) // stops at "same" and "last"
			if len(got) != 2 {
				t.Fatalf("%d deliveries for 2 ids: the repeated id was delivered", len(got))
			}
		})
	}
}

// loadSharing has two members of one group consume until both received
// messages and every published one arrived; publishing continues in rounds
// while a broker still assigns work to one member (a Kafka rebalance).
func loadSharing(t *testing.T, b Broker, g Guarantees) {
	topic := b.Topic(t)
	subs := []Subscriber{topic.Subscribe(t, "g1"), topic.Subscribe(t, "g1")}
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	var mu sync.Mutex
	per := map[string][]Delivery{}
	ids := map[string]bool{}
	var wg sync.WaitGroup
	errc := make(chan error, len(subs))
	for i, s := range subs {
		name := fmt.Sprint("member", i)
		wg.Go(func() {
			for {
				d, err := s.Next(ctx)
				if err != nil {
					if !errors.Is(ctx.Err(), context.Canceled) {
						errc <- fmt.Errorf("%s: %w", name, err)
					}
					return
				}
				if err := d.Ack(ctx); err != nil {
					errc <- fmt.Errorf("%s ack: %w", name, err)
					return
				}
				mu.Lock()
				per[name] = append(per[name], d)
				ids[d.ID] = true
				mu.Unlock()
			}
		})
	}
	sent := 0
	for round := 0; ; round++ {
		batch := msgs(fmt.Sprint("s", round), 20)
		if err := topic.Publish(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		sent += len(batch)
		var shared, complete bool
		deadline := time.Now().Add(2 * time.Second)
		for !complete && time.Now().Before(deadline) && ctx.Err() == nil {
			mu.Lock()
			shared = len(per["member0"]) > 0 && len(per["member1"]) > 0
			complete = len(ids) == sent
			mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		if (shared && complete) || ctx.Err() != nil {
			break
		}
	}
	cancel()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if len(per["member0"]) == 0 || len(per["member1"]) == 0 || len(ids) != sent {
		t.Fatalf("member0 %d, member1 %d, distinct %d of %d", len(per["member0"]), len(per["member1"]), len(ids), sent)
	}
	if g.KeyOrderInGroup {
		checkOrder(t, per)
	}
}

// checkOrder checks that, at each member, every key's messages of one
// publish round arrive in publish order (the body is the index).
func checkOrder(t *testing.T, per map[string][]Delivery) {
	t.Helper()
	for member, ds := range per {
		last := map[string]int{}
		seen := map[string]bool{}
		for _, d := range ds {
			if seen[d.ID] { // at-least-once: a redelivered copy is not a reorder
				continue
			}
			seen[d.ID] = true
			round, _, _ := cutLast(d.ID)
			key := round + "/" + d.Key
			n, err := strconv.Atoi(string(d.Body))
			if err != nil {
				t.Fatalf("body %q: %v", d.Body, err)
			}
			if prev, ok := last[key]; ok && n <= prev {
				t.Errorf("%s: key %s: %d after %d", member, key, n, prev)
			}
			last[key] = n
		}
	}
}

func cutLast(id string) (string, string, bool) {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '-' {
			return id[:i], id[i+1:], true
		}
	}
	return id, "", false
}
