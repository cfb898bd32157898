package main

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestRun_round_trip_and_rejections(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"DATABASE_URL": db.URL}), &out); err != nil {
		t.Fatal(err)
	}
	want := `order 1: ada@example.com, paid
  ship_to: {Street:1 Main St City:Springfield Zip:12345}
  stops:   [{Street:2 Depot Rd City:Shelbyville Zip:23456} {Street:3 Hub Ave City:Capital City Zip:34567}]
  meta:    {Gift:true Tags:[express]}
status "lost": insert order: ERROR: invalid input value for enum order_status: "lost" (SQLSTATE 22P02)
email "ada at example.com": insert order: failed to encode args[0]: unable to encode "ada at example.com" into text format for text (OID 25): invalid email "ada at example.com"
orders in the table: 1
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	testkit.CheckReadme(t, 0, out.String())
}

// typedPool is the example's pool on a fresh database with the schema in
// place (the test keeps it; run drops its schema at the end).
func typedPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t).URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = demoSchema
	if err := createSchema(t.Context(), cfg.ConnConfig); err != nil {
		t.Fatal(err)
	}
	cfg.AfterConnect = registerTypes
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestTypes_round_trip(t *testing.T) {
	t.Parallel()
	pool := typedPool(t)
	for i, o := range []Order{
		{Email: "a@b.example", Status: StatusPending, ShipTo: Address{"", "", ""}, Stops: []Address{}, Meta: Meta{Tags: []string{}}},
		{Email: "o'brien+tag@example.com", Status: StatusShipped,
			ShipTo: Address{`Quote "St", (comma)`, "Zürich", "8001"},
			Stops:  []Address{{"x", "y", "z"}}, Meta: Meta{Gift: true, Tags: []string{"a", "b"}}},
	} {
		id, err := insertOrder(t.Context(), pool, o)
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		got, err := readOrder(t.Context(), pool, id)
		if err != nil {
			t.Fatal(err)
		}
		o.ID = id
		if !reflect.DeepEqual(got, o) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, o)
		}
	}
	// The server stored real enum and composite values, not text.
	var status, city string
	err := pool.QueryRow(t.Context(),
		"SELECT pg_typeof(status)::text, (ship_to).city FROM orders ORDER BY id DESC LIMIT 1").Scan(&status, &city)
	if err != nil || status != "order_status" || city != "Zürich" {
		t.Errorf("server view: %q %q %v", status, city, err)
	}
}

func TestTypes_reject_bad_values_and_write_nothing(t *testing.T) {
	t.Parallel()
	pool := typedPool(t)
	good := Order{Email: "a@b.example", Status: StatusPaid, Stops: []Address{}, Meta: Meta{}}
	tests := []struct {
		name   string
		mutate func(*Order)
		check  func(error) bool
	}{
		{"rejects_unknown_enum_value", func(o *Order) { o.Status = "lost" }, func(err error) bool {
			pgErr, ok := errors.AsType[*pgconn.PgError](err)
			return ok && pgErr.Code == "22P02"
		}},
		{"rejects_email_without_at", func(o *Order) { o.Email = "nobody" }, func(err error) bool {
			return strings.Contains(err.Error(), `invalid email "nobody"`)
		}},
		{"rejects_email_with_display_name", func(o *Order) { o.Email = "Ada <ada@example.com>" }, func(err error) bool {
			return strings.Contains(err.Error(), "invalid email")
		}},
		{"rejects_empty_email", func(o *Order) { o.Email = "" }, func(err error) bool {
			return strings.Contains(err.Error(), `invalid email ""`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mutate(&o)
			if _, err := insertOrder(t.Context(), pool, o); err == nil || !tt.check(err) {
				t.Errorf("err = %v", err)
			}
		})
	}
	// The server refused the enum; pgx refused the emails before sending.
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM orders").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d orders written (err %v), want 0", n, err)
	}
}

func TestEmail_rejects_bad_value_already_in_the_table(t *testing.T) {
	t.Parallel()
	pool := typedPool(t)
	_, err := pool.Exec(t.Context(), `INSERT INTO orders (email, status, ship_to, stops, meta)
		VALUES ('legacy-garbage', 'paid', ROW('', '', ''), '{}', '{}')`)
	if err != nil {
		t.Fatal(err)
	}
	var e Email
	err = pool.QueryRow(t.Context(), "SELECT email FROM orders").Scan(&e)
	if err == nil || !strings.Contains(err.Error(), `invalid email "legacy-garbage"`) {
		t.Errorf("scan err = %v", err)
	}
}

func ExampleParseEmail() {
	for _, s := range []string{"ada@example.com", "ada@", "Ada <ada@example.com>"} {
		e, err := ParseEmail(s)
		fmt.Printf("%q %v\n", e, err)
	}
	// Output:
	// "ada@example.com" <nil>
	// "" invalid email "ada@"
	// "" invalid email "Ada <ada@example.com>"
}
