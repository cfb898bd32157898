// Command 02-custom-types maps PostgreSQL types onto Go types with pgx: an
// enum and a composite (and its array) registered on every new connection,
// an email type that validates itself, and JSONB into a struct.
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const demoSchema = "types_demo"

// schema holds the custom types; a service creates them in a migration.
const schema = `
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped');
CREATE TYPE address AS (street text, city text, zip text);
CREATE TABLE orders (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email   text         NOT NULL,
    status  order_status NOT NULL,
    ship_to address      NOT NULL,
    stops   address[]    NOT NULL,
    meta    jsonb        NOT NULL
);`

// Order is one row of orders.
type Order struct {
	ID     int64
	Email  Email
	Status Status
	ShipTo Address
	Stops  []Address
	Meta   Meta
}

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dsn := cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return parseError("DATABASE_URL", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = demoSchema
	if err := createSchema(ctx, cfg.ConnConfig); err != nil {
		return err
	}
	defer dropSchema(context.WithoutCancel(ctx), cfg.ConnConfig)

	// pgx knows built-in types only: every new connection of the pool
	// registers the custom ones before its first query.
	cfg.AfterConnect = registerTypes
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create pool: %w", err)
	}
	defer pool.Close()

	order := Order{
		Email:  "ada@example.com",
		Status: StatusPaid,
		ShipTo: Address{Street: "1 Main St", City: "Springfield", Zip: "12345"},
		Stops:  []Address{{"2 Depot Rd", "Shelbyville", "23456"}, {"3 Hub Ave", "Capital City", "34567"}},
		Meta:   Meta{Gift: true, Tags: []string{"express"}},
	}
	id, err := insertOrder(ctx, pool, order)
	if err != nil {
		return err
	}
	got, err := readOrder(ctx, pool, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "order %d: %s, %s\n", got.ID, got.Email, got.Status)
	fmt.Fprintf(stdout, "  ship_to: %+v\n", got.ShipTo)
	fmt.Fprintf(stdout, "  stops:   %+v\n", got.Stops)
	fmt.Fprintf(stdout, "  meta:    %+v\n", got.Meta)

	// Bad values fail before or at the INSERT; nothing is written.
	bad := order
	bad.Status = "lost"
	_, err = insertOrder(ctx, pool, bad)
	fmt.Fprintf(stdout, "status %q: %v\n", bad.Status, err)
	bad = order
	bad.Email = "ada at example.com"
	_, err = insertOrder(ctx, pool, bad)
	fmt.Fprintf(stdout, "email %q: %v\n", bad.Email, err)

	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n); err != nil {
		return fmt.Errorf("count orders: %w", err)
	}
	fmt.Fprintf(stdout, "orders in the table: %d\n", n)
	return nil
}

// registerTypes looks the custom types up by name (one round trip) and
// registers their codecs on conn. "_address" is the array of address.
func registerTypes(ctx context.Context, conn *pgx.Conn) error {
	types, err := conn.LoadTypes(ctx, []string{"order_status", "address", "_address"})
	if err != nil {
		return fmt.Errorf("load types: %w", err)
	}
	conn.TypeMap().RegisterTypes(types)
	return nil
}

func insertOrder(ctx context.Context, pool *pgxpool.Pool, o Order) (int64, error) {
	var id int64
	err := pool.QueryRow(ctx, `INSERT INTO orders (email, status, ship_to, stops, meta)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		o.Email, o.Status, o.ShipTo, o.Stops, o.Meta).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert order: %w", err)
	}
	return id, nil
}

func readOrder(ctx context.Context, pool *pgxpool.Pool, id int64) (Order, error) {
	rows, err := pool.Query(ctx,
		"SELECT id, email, status, ship_to, stops, meta FROM orders WHERE id = $1", id)
	if err != nil {
		return Order{}, fmt.Errorf("read order %d: %w", id, err)
	}
	o, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Order])
	if err != nil {
		return Order{}, fmt.Errorf("read order %d: %w", id, err)
	}
	return o, nil
}
