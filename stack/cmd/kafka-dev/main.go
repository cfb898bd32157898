// Command kafka-dev runs a Kafka-protocol cluster in one process (franz-go's
// kfake) for native mode, where no JVM Kafka runs. It speaks the real wire
// protocol, so kafka-go and franz-go clients work unchanged; compose runs
// Apache Kafka instead. Not for production: data lives in memory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kafka-dev:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("kafka-dev", flag.ContinueOnError)
	port := fs.Int("port", 9092, "port of the first broker; further brokers take the next ports")
	brokers := fs.Int("brokers", 1, "number of brokers")
	partitions := fs.Int("partitions", 1, "partitions of an auto-created topic (Kafka's num.partitions)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *brokers < 1 || *port < 1 || *port+*brokers-1 > 65535 {
		return errors.New("need -brokers >= 1 and ports within 1..65535")
	}
	ports := make([]int, *brokers)
	for i := range ports {
		ports[i] = *port + i
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Like Apache Kafka's defaults: topics are created on first use.
	c, err := kfake.NewCluster(
		kfake.Ports(ports...),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
		kfake.ClusterID("part4-native"),
	)
	if err != nil {
		return fmt.Errorf("start cluster on %v: %w", ports, err)
	}
	defer c.Close()
	fmt.Fprintf(stdout, "kafka-dev: %d broker(s) on %s\n", *brokers, strings.Join(c.ListenAddrs(), ","))
	<-ctx.Done()
	fmt.Fprintln(stdout, "kafka-dev: shutting down")
	return nil
}
