package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Session owns one connection and one channel and replaces both when the
// connection is lost: NotifyClose (buffered, so the library never blocks
// on it) tells that the channel is gone; the next call dials again and runs
// setup (declarations, Qos, confirm mode) on the new channel. Not safe for
// concurrent use, like the channel it wraps.
type Session struct {
	URL         string
	Dial        func(network, addr string) (net.Conn, error) // nil: amqp.DefaultDial
	Setup       func(*amqp.Channel) error
	OnReconnect func(lost error) // called after a successful redial

	conn    *amqp.Connection
	ch      *amqp.Channel
	closed  chan *amqp.Error
	returns chan amqp.Return // unroutable mandatory publishes, see publishOnce
	lost    error
}

// Channel returns the live channel, reconnecting with backoff (100 ms
// doubling to 2 s) until it succeeds or ctx ends.
func (s *Session) Channel(ctx context.Context) (*amqp.Channel, error) {
	if s.ch != nil {
		select {
		case e := <-s.closed:
			s.drop(e)
		default:
			return s.ch, nil
		}
	}
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		err := s.open()
		if err == nil {
			if s.lost != nil && s.OnReconnect != nil {
				s.OnReconnect(s.lost)
			}
			s.lost = nil
			return s.ch, nil
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), err)
		case <-time.After(delay):
		}
	}
}

// Broken marks the channel unusable (a publish or an ack failed), so the
// next Channel call reconnects.
func (s *Session) Broken(err error) {
	if s.ch == nil {
		return
	}
	if err == nil {
		select {
		case err = <-s.closed:
		default:
		}
	}
	s.drop(err)
}

func (s *Session) drop(err error) {
	if err == nil { // closed channel: a clean close of ours, or a shutdown
		err = amqp.ErrClosed
	}
	s.lost = err
	_ = s.conn.Close()
	s.conn, s.ch = nil, nil
}

func (s *Session) open() error {
	u, err := url.Parse(s.URL)
	if err != nil {
		return errors.New("parse AMQP_URL: not a valid URL (value not shown)")
	}
	cfg := amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)}
	if s.Dial != nil {
		cfg.Dial = s.Dial
	}
	conn, err := amqp.DialConfig(s.URL, cfg)
	if err != nil {
		return fmt.Errorf("connect %s: %w", u.Redacted(), err)
	}
	ch, err := conn.Channel()
	if err == nil && s.Setup != nil {
		err = s.Setup(ch)
	}
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("set up channel: %w", err)
	}
	// Channel-level errors (a 404 on publish, a 406 on a stale ack) close
	// only the channel: listen on it, not only on the connection.
	s.conn, s.ch = conn, ch
	s.closed = ch.NotifyClose(make(chan *amqp.Error, 1))
	// The library blocks its reader until a return is taken: the buffer
	// holds the one return a publish can cause, and publishOnce empties it
	// before each publish (a Session publishes one message at a time).
	s.returns = ch.NotifyReturn(make(chan amqp.Return, 4))
	return nil
}

// Close ends the session.
func (s *Session) Close() error {
	if s.conn == nil {
		return nil
	}
	return s.conn.Close()
}

// errUnroutable: the broker confirmed a mandatory message it could route to
// no queue and returned it. Publishing again would not help.
var errUnroutable = errors.New("unroutable")

// PublishConfirmed publishes msg as persistent (a transient message is lost
// when the broker restarts, confirmed or not) and mandatory (a message no
// queue takes is returned, not silently dropped: that is an error), and
// waits for the broker's confirm. A lost connection or a nack means "not
// stored", so it reconnects and publishes again until confirmed or ctx
// ends. At-least-once: a confirm lost with the connection makes a
// duplicate, so consumers must be idempotent.
func PublishConfirmed(ctx context.Context, s *Session, exchange, key string, msg amqp.Publishing) error {
	msg.DeliveryMode = amqp.Persistent
	for {
		ch, err := s.Channel(ctx)
		if err != nil {
			return err
		}
		err = publishOnce(ctx, ch, s.returns, exchange, key, msg)
		if err == nil {
			return nil
		}
		if errors.Is(err, errUnroutable) || ctx.Err() != nil {
			return fmt.Errorf("publish %s: %w", msg.MessageId, err)
		}
		s.Broken(err)
	}
}

func publishOnce(ctx context.Context, ch *amqp.Channel, returns <-chan amqp.Return,
	exchange, key string, msg amqp.Publishing) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for drained := false; !drained; { // returns of an earlier, abandoned publish
		select {
		case _, open := <-returns:
			drained = !open // closed with the channel: the publish below fails
		default:
			drained = true
		}
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, msg)
	if err != nil {
		return err
	}
	ok, err := dc.WaitContext(ctx)
	if err == nil && !ok {
		err = errors.New("nacked or connection lost before the confirm")
	}
	if err != nil {
		return err
	}
	// The broker sends basic.return before the confirm and the library
	// hands it over before the confirm: if there is one, it is here now.
	select {
	case r, ok := <-returns:
		if ok && r.MessageId == msg.MessageId {
			return fmt.Errorf("%w: returned %d %s by %q key %q", errUnroutable, r.ReplyCode, r.ReplyText, exchange, key)
		}
	default:
	}
	return nil
}

// Consume hands every delivery of queue to handle until ctx ends,
// consuming again after a lost connection. Deliveries that were not acked
// on the old channel are requeued by the broker and come back with
// Redelivered set; an ack on the dead channel fails and is not retried.
func Consume(ctx context.Context, s *Session, queue string, handle func(amqp.Delivery)) error {
	for ctx.Err() == nil {
		ch, err := s.Channel(ctx)
		if err != nil {
			return err
		}
		// Our own tag, to cancel the consumer on return: otherwise the broker
		// keeps delivering to a channel nobody reads until it is closed.
		tag := "consume-" + queue + "-" + rand.Text()
		deliveries, err := ch.Consume(queue, tag, false, false, false, false, nil)
		if err != nil {
			s.Broken(err)
			continue
		}
		for open := true; open; {
			select {
			case <-ctx.Done():
				// Unacked deliveries still in the buffer go back to the queue
				// when the channel closes.
				_ = ch.Cancel(tag, false)
				return nil
			case d, ok := <-deliveries:
				if open = ok; ok {
					handle(d)
				}
			}
		}
		s.Broken(nil) // deliveries closed: the channel or connection died
	}
	return nil
}

// cutter is an in-process fault: it remembers the TCP connections a
// Session dials so the demo can break them like a network failure would.
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (c *cutter) dial(network, addr string) (net.Conn, error) {
	conn, err := amqp.DefaultDial(5*time.Second)(network, addr)
	if err == nil {
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
	}
	return conn, err
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		_ = conn.Close()
	}
	c.conns = nil
}
