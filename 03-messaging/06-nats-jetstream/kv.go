package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Stock shows compare-and-set on a KV bucket: two writers read the same
// revision of a stock count; the first Update wins, the second is refused
// and must re-read before it writes. Create succeeds only for a new key.
// reset deletes the bucket first (the demo's -reset).
func Stock(ctx context.Context, js jetstream.JetStream, bucket string, reset bool) ([]string, error) {
	if reset {
		if err := js.DeleteKeyValue(ctx, bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, fmt.Errorf("delete bucket: %w", err)
		}
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, History: 5})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	rev, err := kv.Create(ctx, "sku-1", []byte("10"))
	if err != nil {
		return nil, fmt.Errorf("create sku-1: %w", err)
	}
	lines := []string{fmt.Sprintf("kv sku-1 = 10 (revision %d)", rev)}

	read, err := kv.Get(ctx, "sku-1") // writers A and B both read this
	if err != nil {
		return nil, fmt.Errorf("get sku-1: %w", err)
	}
	for _, writer := range []string{"A", "B"} {
		rev, err := kv.Update(ctx, "sku-1", []byte("9"), read.Revision())
		lines = append(lines, fmt.Sprintf("writer %s: 10 → 9 at revision %d: %s",
			writer, read.Revision(), casResult(rev, err)))
		if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return lines, fmt.Errorf("update sku-1: %w", err)
		}
	}
	// B re-reads and applies its decrement to the current value.
	now, err := kv.Get(ctx, "sku-1")
	if err != nil {
		return nil, fmt.Errorf("get sku-1: %w", err)
	}
	rev, err = kv.Update(ctx, "sku-1", []byte("8"), now.Revision())
	lines = append(lines, fmt.Sprintf("writer B re-reads %s at revision %d → 8: %s",
		now.Value(), now.Revision(), casResult(rev, err)))
	_, err = kv.Create(ctx, "sku-1", []byte("100"))
	lines = append(lines, fmt.Sprintf("create sku-1 again: %s", casResult(0, err)))
	return lines, nil
}

func casResult(rev uint64, err error) string {
	switch {
	case err == nil:
		return fmt.Sprintf("ok, revision %d", rev)
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return "rejected, stale revision"
	case errors.Is(err, jetstream.ErrKeyExists):
		return "rejected, key exists"
	default:
		return "error: " + err.Error()
	}
}
