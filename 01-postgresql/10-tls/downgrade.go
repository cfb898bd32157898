package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// refusedWithoutTLS points a copy of cfg at a local listener that answers
// every SSLRequest with 'N' (no TLS here), as a server without TLS or a
// downgrading proxy would, and returns why the connection was refused.
func refusedWithoutTLS(ctx context.Context, cfg *pgxpool.Config) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			var req [8]byte // length + SSLRequest code
			if _, err := io.ReadFull(c, req[:]); err == nil {
				_, _ = c.Write([]byte{'N'})
			}
			c.Close()
		}
	})

	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return err
	}
	c := cfg.Copy()
	c.ConnConfig.Host, c.ConnConfig.Port, c.ConnConfig.Fallbacks = host, uint16(p), nil
	c.ConnConfig.TLSConfig = c.ConnConfig.TLSConfig.Clone() // ServerName stays: the name we expect
	pool, err := pgxpool.NewWithConfig(ctx, c)
	if err != nil {
		return err
	}
	defer pool.Close()
	err = pool.Ping(ctx)
	if err == nil {
		return errors.New("connected without TLS")
	}
	if strings.Contains(err.Error(), "server refused TLS connection") {
		return errors.New("refused (server refused TLS connection)")
	}
	return fmt.Errorf("refused: %w", err)
}
