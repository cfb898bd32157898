package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// maxBody bounds a job message. The publisher refuses larger ones; the
// worker dead-letters them, since another producer may not check.
const maxBody = 64 << 10

// Job is the message body: a type the worker knows and the job's id.
type Job struct {
	Type  string `json:"type"`
	ID    int    `json:"id"`
	Flaky bool   `json:"flaky,omitempty"` // fails on its first delivery (demo)
}

// errFlaky is a transient failure: the delivery goes back to the queue.
var errFlaky = errors.New("transient failure")

// dial connects with a bounded handshake. amqp.ParseURI quotes the whole URL
// (password included) when it cannot parse it, so that error is replaced.
func dial(rawURL string) (*amqp.Connection, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", errors.New("parse AMQP_URL: not a valid URL (value not shown)")
	}
	if _, err := amqp.ParseURI(rawURL); err != nil {
		return nil, "", fmt.Errorf("parse AMQP_URL %s: not an amqp:// URL", u.Redacted())
	}
	conn, err := amqp.DialConfig(rawURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return nil, "", fmt.Errorf("connect %s: %w", u.Redacted(), err)
	}
	return conn, u.Redacted(), nil
}

// declare creates the durable quorum queue and its dead-letter queue. A
// message rejected without requeue, or redelivered more than 5 times (a
// consumer that crashes on it), goes to name+".dead" instead of looping.
func declare(ch *amqp.Channel, name string) error {
	dead := name + ".dead"
	if _, err := ch.QueueDeclare(dead, true, false, false, false,
		amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
		return fmt.Errorf("declare %s: %w", dead, err)
	}
	_, err := ch.QueueDeclare(name, true, false, false, false, amqp.Table{
		amqp.QueueTypeArg:           amqp.QueueTypeQuorum,
		"x-delivery-limit":          5,
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": dead,
	})
	if err != nil {
		return fmt.Errorf("declare %s: %w", name, err)
	}
	return nil
}

// publishAll sends every body with mandatory set and waits for all broker
// confirms: many in flight, one round trip of latency in total. It returns
// how many were confirmed. WaitContext, not Wait: a confirm that never
// comes (a dead connection) must not hang the caller.
func publishAll(ctx context.Context, ch *amqp.Channel, key string, bodies [][]byte) (int, error) {
	for i, body := range bodies { // all or nothing: check before sending any
		if len(body) > maxBody {
			return 0, fmt.Errorf("publish message %d: %d bytes exceeds %d", i, len(body), maxBody)
		}
	}
	pending := make([]*amqp.DeferredConfirmation, 0, len(bodies))
	for i, body := range bodies {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", key, true, false,
			amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body})
		if err != nil {
			return 0, fmt.Errorf("publish message %d: %w", i, err)
		}
		pending = append(pending, dc)
	}
	confirmed := 0
	for i, dc := range pending {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return confirmed, fmt.Errorf("confirm message %d: %w", i, err)
		}
		if ok {
			confirmed++
		}
	}
	return confirmed, nil
}

// decode checks a delivery: size, JSON, known type. Its error is the
// reason the message is dead-lettered.
func decode(body []byte) (Job, error) {
	var j Job
	if len(body) > maxBody {
		return j, fmt.Errorf("oversized: %d bytes exceeds %d", len(body), maxBody)
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return j, fmt.Errorf("undecodable: %w", err)
	}
	if j.Type != "thumbnail" {
		return j, fmt.Errorf("unknown type %q", j.Type)
	}
	return j, nil
}

// Result is what a worker did with one delivery.
type Result struct {
	Job         Job
	Redelivered bool
	Err         error // errFlaky: requeued; other: dead-lettered with this reason
}

// work consumes with manual acks and a prefetch limit on its own channel (a
// channel is not safe for concurrent use). Bad messages go to the dead
// queue with the reason in the x-error header, confirmed before the ack,
// so none is lost. It returns nil when ctx ends, and an error when the
// deliveries channel closes under it: a channel error otherwise ends the
// range loop silently and the worker idles forever.
func work(ctx context.Context, conn *amqp.Connection, queue string, prefetch int,
	results chan<- Result) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	returned := DrainReturns(ch)
	defer func() {
		_ = ch.Close()
		<-returned.done // its goroutine ends with the channel
	}()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return fmt.Errorf("qos: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	// Consume, not ConsumeWithContext: that one cancels the consumer from
	// its own goroutine when ctx ends, racing the deferred Close.
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", queue, err)
	}
	for {
		var d amqp.Delivery
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case d, ok = <-deliveries:
		}
		if !ok {
			select {
			case e := <-closed:
				return fmt.Errorf("consume %s: channel closed: %w", queue, e)
			default:
				return fmt.Errorf("consume %s: deliveries stopped (queue deleted?)", queue)
			}
		}
		job, reason := decode(d.Body)
		if reason == nil && job.Flaky && !d.Redelivered {
			reason = errFlaky
		}
		switch {
		case errors.Is(reason, errFlaky):
			err = d.Nack(false, true)
		case reason != nil:
			err = deadLetter(ctx, ch, returned, queue+".dead", d, reason)
		default:
			err = d.Ack(false)
		}
		if err != nil {
			return fmt.Errorf("settle delivery: %w", err)
		}
		select {
		case results <- Result{Job: job, Redelivered: d.Redelivered, Err: reason}:
		case <-ctx.Done():
			return nil
		}
	}
}

// deadLetter republishes d to the dead queue with the reason, then acks it.
// Mandatory: a missing dead queue returns the message (the return arrives
// before the confirm), and the delivery is requeued instead of acked. The
// return is found by the dead letter's MessageId among what returned holds,
// so a late return of another message is not taken for this one.
func deadLetter(ctx context.Context, ch *amqp.Channel, returned *Returns,
	dead string, d amqp.Delivery, reason error) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	id := d.MessageId
	if id == "" { // the return must be told apart from others
		id = "dead-" + rand.Text()
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", dead, true, false, amqp.Publishing{
		MessageId: id, Headers: amqp.Table{"x-error": reason.Error()}, ContentType: d.ContentType,
		DeliveryMode: amqp.Persistent, Body: d.Body,
	})
	if err == nil {
		var acked bool
		if acked, err = dc.WaitContext(ctx); err == nil && !acked {
			err = errors.New("nacked")
		}
	}
	if err == nil {
		if r, ok := returned.Take(id); ok {
			err = fmt.Errorf("returned %d %s", r.ReplyCode, r.ReplyText)
		}
	}
	if err != nil {
		return errors.Join(fmt.Errorf("dead-letter to %s: %w", dead, err), d.Nack(false, true))
	}
	return d.Ack(false)
}

// Returns drains a channel's basic.return notifications for as long as the
// channel lives. The library sends them from its only reader goroutine, so
// an unread notify channel stalls every confirm, delivery and close.
type Returns struct {
	mu   sync.Mutex
	list []amqp.Return
	take chan takeReq
	done chan struct{}
}

type takeReq struct {
	id    string
	reply chan<- amqp.Return // buffered; MessageId "" when there is none
}

// DrainReturns registers a buffered listener on ch and starts the goroutine
// that empties it; it ends when ch closes (see Wait).
func DrainReturns(ch *amqp.Channel) *Returns {
	r := &Returns{take: make(chan takeReq), done: make(chan struct{})}
	c := ch.NotifyReturn(make(chan amqp.Return, 16))
	go func() {
		defer close(r.done)
		for {
			select {
			case ret, ok := <-c:
				if !ok {
					return
				}
				r.add(ret)
			case req := <-r.take:
				// What the listener holds was returned before this request:
				// store it first, so a return that preceded a confirm is seen.
				for more := true; more; {
					select {
					case ret, ok := <-c:
						if more = ok; ok {
							r.add(ret)
						}
					default:
						more = false
					}
				}
				ret, _ := r.remove(req.id)
				req.reply <- ret
			}
		}
	}()
	return r
}

func (r *Returns) add(ret amqp.Return) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, ret)
}

func (r *Returns) remove(id string) (amqp.Return, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, ret := range r.list {
		if ret.MessageId == id {
			r.list = append(r.list[:i], r.list[i+1:]...)
			return ret, true
		}
	}
	return amqp.Return{}, false
}

// Take removes and reports the return of the message with this (non-empty)
// id, if the broker returned it. Call it after the message's confirm: the
// broker sends a return before the confirm of the same message, and Take
// stores everything the listener holds before it looks.
func (r *Returns) Take(id string) (amqp.Return, bool) {
	reply := make(chan amqp.Return, 1)
	select {
	case r.take <- takeReq{id: id, reply: reply}:
		ret := <-reply
		return ret, ret.MessageId != ""
	case <-r.done:
		return r.remove(id)
	}
}

// Wait returns every message returned before the channel closed.
func (r *Returns) Wait(ctx context.Context) ([]amqp.Return, error) {
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.list, nil
}
