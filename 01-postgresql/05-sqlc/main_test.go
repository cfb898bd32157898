package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/catalog"
	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const wantOutput = `categories under Electronics (recursive CTE):
  Electronics
    Computers
      Desktops
      Laptops
    Phones
best seller per category (rank() over partition):
  Books      Go in Action 234.00
  Desktops   Tower        8994.00
  Laptops    Pro 16       14994.00
  Phones     Pixel        4194.00
daily revenue, running total, change (sum over, lag):
  2026-01-01     12337.00     12337.00     12337.00
  2026-01-02     13986.00     26323.00      1649.00
  2026-01-03     11255.00     37578.00     -2731.00
?min_price=50000&sort=-price: [Pro 16 2499.00, Tower 1499.00, Air 13 999.00, Pixel 699.00]
?category_id=3: [Mini 499.00, Pixel 699.00]
?name=P&sort=price: [Pixel 699.00, Pro 16 2499.00]
?name=50%25: []
?sort=price+DESC: unknown sort key "price DESC" (want one of name, price, -price)
?min_price=cheap: min_price: "cheap" is not an integer
id = ANY({2,4,6}): [2 Pro 16, 4 Pixel, 6 Go in Action]
keyset pages of 3: [Air 13, Go in Action, Mini] [Pixel, Pro 16, SQL Basics] [Tower]
forged page token: invalid page token: signature mismatch
token of another listing: invalid page token: issued for another listing
page size 0: page size: want 1 to 100, got 0
`

func TestRun_every_query_against_seeded_data(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"DATABASE_URL": db.URL}), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != wantOutput {
		t.Errorf("output:\n%s\nwant:\n%s", got, wantOutput)
	}
	testkit.CheckReadme(t, 0, out.String())
	// The demo schema is gone afterwards.
	pool := connect(t, db.URL)
	var n int
	if err := pool.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_namespace WHERE nspname = $1", demoSchema).Scan(&n); err != nil || n != 0 {
		t.Errorf("schema %s left behind: count=%d err=%v", demoSchema, n, err)
	}
}

func connect(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = demoSchema
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// seeded returns queries over a fresh database holding the demo data.
func seeded(t *testing.T) (*catalog.Queries, *pgxpool.Pool) {
	t.Helper()
	pool := connect(t, pgtest.NewDatabase(t).URL)
	ctx := t.Context()
	if err := createSchema(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return seed(ctx, catalog.New(tx)) }); err != nil {
		t.Fatal(err)
	}
	return catalog.New(pool), pool
}

func TestQueries_exact_rows(t *testing.T) {
	t.Parallel()
	q, pool := seeded(t)
	ctx := t.Context()

	tree, err := q.CategoryTree(ctx, 2)
	wantTree := []catalog.CategoryTreeRow{
		{ID: 2, Name: "Computers", Depth: 0, Path: "Computers"},
		{ID: 5, Name: "Desktops", Depth: 1, Path: "Computers / Desktops"},
		{ID: 4, Name: "Laptops", Depth: 1, Path: "Computers / Laptops"},
	}
	if err != nil || !slices.Equal(tree, wantTree) {
		t.Errorf("CategoryTree(2) = %v, %v; want %v", tree, err, wantTree)
	}

	top, err := q.TopProducts(ctx, 2)
	wantTop := []catalog.TopProductsRow{
		{Category: "Books", Product: "Go in Action", RevenueCents: 23400, Rank: 1},
		{Category: "Books", Product: "SQL Basics", RevenueCents: 17400, Rank: 2},
		{Category: "Desktops", Product: "Tower", RevenueCents: 899400, Rank: 1},
		{Category: "Laptops", Product: "Pro 16", RevenueCents: 1499400, Rank: 1},
		{Category: "Laptops", Product: "Air 13", RevenueCents: 599400, Rank: 2},
		{Category: "Phones", Product: "Pixel", RevenueCents: 419400, Rank: 1},
		{Category: "Phones", Product: "Mini", RevenueCents: 299400, Rank: 2},
	}
	if err != nil || !slices.Equal(top, wantTop) {
		t.Errorf("TopProducts(2) = %v, %v; want %v", top, err, wantTop)
	}

	byID, err := q.ProductsByIDs(ctx, []int64{7, 1, 99, 1})
	wantByID := []catalog.ProductsByIDsRow{
		{ID: 1, Name: "Air 13", PriceCents: 99900},
		{ID: 7, Name: "SQL Basics", PriceCents: 2900},
	}
	if err != nil || !slices.Equal(byID, wantByID) {
		t.Errorf("ProductsByIDs(7,1,99,1) = %v, %v; want %v", byID, err, wantByID)
	}
	if none, err := q.ProductsByIDs(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("ProductsByIDs(nil) = %v, %v; want no rows", none, err)
	}
	var sales int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM sales").Scan(&sales); err != nil || sales != 21 {
		t.Errorf("COPY wrote %d sales (err %v), want 21", sales, err)
	}
}

func TestSearch_filters_and_sort(t *testing.T) {
	t.Parallel()
	q, _ := seeded(t)
	tests := []struct{ query, want string }{
		{"", "Air 13,Go in Action,Mini,Pixel,Pro 16,SQL Basics,Tower"},
		{"sort=price", "SQL Basics,Go in Action,Mini,Pixel,Air 13,Tower,Pro 16"},
		{"category_id=6&sort=-price", "Go in Action,SQL Basics"},
		{"min_price=100000&name=T", "Tower"},
		{"name=_ini", ""}, // "_" is a literal, not LIKE's any-character
	}
	for _, tt := range tests {
		rows, err := search(t.Context(), q, tt.query)
		if err != nil {
			t.Fatalf("?%s: %v", tt.query, err)
		}
		var names []string
		for _, r := range rows {
			names = append(names, r.Name)
		}
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("?%s = %s, want %s", tt.query, got, tt.want)
		}
	}
}

func TestSearch_rejects_bad_input_before_any_query(t *testing.T) {
	t.Parallel()
	// A nil DBTX would panic if a query ran: rejection happens first.
	q := catalog.New(nil)
	tests := []struct{ name, query, want string }{
		{"rejects_unknown_sort_key", "sort=name%3B--", `unknown sort key "name;--"`},
		{"rejects_sql_in_sort_key", "sort=price+DESC", `unknown sort key "price DESC"`},
		{"rejects_non_integer_filter", "category_id=1+OR+1%3D1", `category_id: "1 OR 1=1" is not an integer`},
		{"rejects_broken_query_string", "sort=%zz", "parse query"},
		{"rejects_misspelt_filter", "categroy_id=3", `unknown parameter "categroy_id"`},
		{"rejects_repeated_parameter", "sort=name&sort=-price", "sort: given 2 times"},
		{"rejects_integer_overflow", "min_price=99999999999999999999", `min_price: "99999999999999999999" is not`},
		{"rejects_invalid_utf8_name", "name=%FF", "name: want up to 100 bytes of UTF-8 text"},
		{"rejects_nul_in_name", "name=a%00", "name: want up to 100 bytes of UTF-8 text"},
		{"rejects_overlong_name", "name=" + strings.Repeat("a", 101), "name: want up to 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := search(t.Context(), q, tt.query)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPage_walks_every_row_once(t *testing.T) {
	t.Parallel()
	q, _ := seeded(t)
	secret := newTokenSecret()
	var got []string
	token := ""
	for range 10 {
		rows, next, err := page(t.Context(), q, secret, byName, token, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got = append(got, r.Name)
		}
		if token = next; token == "" {
			break
		}
	}
	want := []string{"Air 13", "Go in Action", "Mini", "Pixel", "Pro 16", "SQL Basics", "Tower"}
	if !slices.Equal(got, want) {
		t.Errorf("pages = %v, want %v", got, want)
	}
}

func TestPage_rejects_tampered_tokens(t *testing.T) {
	t.Parallel()
	secret := newTokenSecret()
	valid, err := encodeToken(secret, pageKey{Listing: byName, Name: "Mini", ID: 5})
	if err != nil {
		t.Fatal(err)
	}
	payload, sig, _ := strings.Cut(valid, ".")
	other, _ := encodeToken(newTokenSecret(), pageKey{Listing: byName, Name: "Mini", ID: 5})
	otherListing, _ := encodeToken(secret, pageKey{Listing: "category_id=3&sort=name", Name: "Mini", ID: 5})
	tests := []struct{ name, token, want string }{
		{"rejects_changed_position", base64.RawURLEncoding.EncodeToString([]byte(`{"q":"sort=name","n":"Tower","i":0}`)) + "." + sig,
			"signature mismatch"},
		{"rejects_token_of_another_key", other, "signature mismatch"},
		{"rejects_missing_signature", payload, "malformed"},
		{"rejects_bad_base64", payload + ".!!" + sig, "malformed"},
		{"rejects_garbage", "hello", "malformed"},
		{"rejects_token_of_another_listing", otherListing, "issued for another listing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The nil DBTX proves no query runs for a rejected token.
			_, _, err := page(t.Context(), catalog.New(nil), secret, byName, tt.token, 3)
			if !errors.Is(err, errPageToken) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %v: %s", err, errPageToken, tt.want)
			}
		})
	}
	k, err := decodeToken(secret, valid)
	if err != nil || k != (pageKey{Listing: byName, Name: "Mini", ID: 5}) {
		t.Errorf("valid token: %v %v", k, err)
	}
}

// A page size from a request outside 1..100 is an error before any query
// (the nil DBTX proves it), not a panic on an empty result.
func TestPage_rejects_page_size_out_of_bounds(t *testing.T) {
	t.Parallel()
	for _, size := range []int32{0, -1, maxPageSize + 1} {
		_, _, err := page(t.Context(), catalog.New(nil), newTokenSecret(), byName, "", size)
		want := fmt.Sprintf("page size: want 1 to 100, got %d", size)
		if err == nil || err.Error() != want {
			t.Errorf("size %d: err = %v, want %q", size, err, want)
		}
	}
}

// An empty table gives an empty last page, not a panic.
func TestPage_empty_listing(t *testing.T) {
	t.Parallel()
	q, pool := seeded(t)
	if _, err := pool.Exec(t.Context(), "TRUNCATE products CASCADE"); err != nil {
		t.Fatal(err)
	}
	rows, next, err := page(t.Context(), q, newTokenSecret(), byName, "", 3)
	if err != nil || len(rows) != 0 || next != "" {
		t.Errorf("rows=%v next=%q err=%v, want an empty last page", rows, next, err)
	}
}

func TestSeed_batch_error_names_the_row_and_writes_nothing(t *testing.T) {
	t.Parallel()
	q, pool := seeded(t)
	ctx := t.Context()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		catalog.New(tx).CreateProduct(ctx, []catalog.CreateProductParams{
			{CategoryID: 6, Name: "New Book", PriceCents: 1000},
			{CategoryID: 6, Name: "Free Book", PriceCents: 0}, // violates CHECK (price_cents > 0)
		}).QueryRow(func(i int, _ int64, e error) { err = cmpErr(err, e, "product", i) })
		return err
	})
	if err == nil || !strings.HasPrefix(err.Error(), "insert product 1: ") {
		t.Fatalf("err = %v, want insert product 1: ...", err)
	}
	rows, err := search(ctx, q, "name=New")
	if err != nil || len(rows) != 0 {
		t.Errorf("the rolled back batch left %v (err %v)", rows, err)
	}
}

func Example_likePrefix() {
	fmt.Println(likePrefix(`50%_off\`))
	// Output: 50\%\_off\\
}

func Example_parseSort() {
	_, err := parseSort("price desc")
	fmt.Println(err)
	// Output: unknown sort key "price desc" (want one of name, price, -price)
}
