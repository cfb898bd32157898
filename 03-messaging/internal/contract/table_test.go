package contract

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the comparison table in 03-messaging/README.md")

const (
	beginMarker = "<!-- contract:begin -->"
	endMarker   = "<!-- contract:end -->"
)

// brokers are the adapters, in the chapter's order; their declarations
// are what TestKafka, TestRabbitMQ, TestNATSJetStream and TestRedisStreams
// check.
func brokers() []Broker {
	return []Broker{kafkaBroker{}, rabbitBroker{}, natsBroker{}, redisBroker{}}
}

// Table renders the comparison from the declarations.
func Table(bs []Broker) string {
	var b strings.Builder
	b.WriteString("| broker | delivery | ordering | replay | dedup | retention |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, br := range bs {
		g := br.Guarantees()
		delivery := "at-most-once"
		if g.Redelivery {
			delivery = "at-least-once: unacked " + g.RedeliveryVia
		}
		ordering := "for one consumer only"
		if g.KeyOrderInGroup {
			ordering = "per key, across group members"
		}
		replay := "no"
		if g.Replay {
			replay = "yes: a new group reads acked messages"
		}
		dedup := "none"
		if g.Dedup {
			dedup = "repeated message id dropped"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", br.Name(), delivery, ordering, replay, dedup, g.Retention)
	}
	return b.String()
}

// syncBlock compares table with the block between the markers of the file
// at path, or rewrites that block when update is set. found is false when
// the file has no markers.
func syncBlock(path, table string, update bool) (found bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	begin, end := bytes.Index(data, []byte(beginMarker)), bytes.Index(data, []byte(endMarker))
	if begin < 0 || end < 0 {
		return false, nil
	}
	if end < begin {
		return true, fmt.Errorf("%s: %s before %s", path, endMarker, beginMarker)
	}
	block := "\n" + table
	if update {
		out := append([]byte{}, data[:begin+len(beginMarker)]...)
		out = append(out, block...)
		out = append(out, data[end:]...)
		return true, os.WriteFile(path, out, 0o644)
	}
	if got := string(data[begin+len(beginMarker) : end]); got != block {
		return true, fmt.Errorf("%s: the comparison table differs from the suite's; run\n"+
			"  go test ./03-messaging/internal/contract -run TestComparisonTable -update\n"+
			"--- README\n%s\n--- suite\n%s", path, got, block)
	}
	return true, nil
}

// TestComparisonTable compares the rendered table with the block between
// the markers of the section README, when the README has them; with
// -update it rewrites that block.
func TestComparisonTable(t *testing.T) {
	table := Table(brokers())
	t.Logf("generated table:\n%s", table)
	path := filepath.Join("..", "..", "README.md")
	found, err := syncBlock(path, table, *update)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Logf("%s has no %s ... %s block: nothing to compare", path, beginMarker, endMarker)
	}
}

func TestSyncBlockRewritesOnlyTheBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# S\n\n" + beginMarker + "\nold\n" + endMarker + "\n\ntail\n"
	if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := syncBlock(path, "| new |\n", false); err == nil {
		t.Fatal("a stale block compared equal")
	}
	if _, err := syncBlock(path, "| new |\n", true); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# S\n\n" + beginMarker + "\n| new |\n" + endMarker + "\n\ntail\n"
	if string(got) != want {
		t.Fatalf("after update:\n%s\nwant:\n%s", got, want)
	}
	if _, err := syncBlock(path, "| new |\n", false); err != nil {
		t.Fatalf("updated block differs: %v", err)
	}
}
