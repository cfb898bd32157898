// Package contract holds one test suite that runs the same scenarios
// against Kafka, RabbitMQ, NATS JetStream and Redis Streams: publish N and
// consume N; an unacked message comes back; members of a group share the
// load; per-key order; a restarted consumer resumes where it left; a new
// group replays; a repeated message id is dropped. Each broker's adapter
// declares what it guarantees, the suite checks exactly that, and
// TestComparisonTable renders the section README's comparison table from
// the declarations the suite has checked.
//
// Everything lives in _test.go files: only tests use it.
package contract
