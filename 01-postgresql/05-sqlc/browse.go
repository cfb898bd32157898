package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/catalog"
	"github.com/jackc/pgx/v5/pgtype"
)

// seed writes the catalogue with sqlc's batch and COPY queries.
func seed(ctx context.Context, q *catalog.Queries) error {
	// :batchexec sends every INSERT in one round trip; each result comes
	// back through the callback, in order.
	var err error
	q.CreateCategory(ctx, []catalog.CreateCategoryParams{
		{ID: 1, Name: "Electronics"},
		{ID: 2, ParentID: some(1), Name: "Computers"},
		{ID: 3, ParentID: some(1), Name: "Phones"},
		{ID: 4, ParentID: some(2), Name: "Laptops"},
		{ID: 5, ParentID: some(2), Name: "Desktops"},
		{ID: 6, Name: "Books"},
	}).Exec(func(i int, e error) { err = cmpErr(err, e, "category", i) })
	if err != nil {
		return err
	}
	// :batchone returns one row per statement: here the new ids.
	products := []catalog.CreateProductParams{
		{CategoryID: 4, Name: "Air 13", PriceCents: 99900},
		{CategoryID: 4, Name: "Pro 16", PriceCents: 249900},
		{CategoryID: 5, Name: "Tower", PriceCents: 149900},
		{CategoryID: 3, Name: "Pixel", PriceCents: 69900},
		{CategoryID: 3, Name: "Mini", PriceCents: 49900},
		{CategoryID: 6, Name: "Go in Action", PriceCents: 3900},
		{CategoryID: 6, Name: "SQL Basics", PriceCents: 2900},
	}
	ids := make([]int64, len(products))
	q.CreateProduct(ctx, products).QueryRow(func(i int, id int64, e error) {
		ids[i] = id
		err = cmpErr(err, e, "product", i)
	})
	if err != nil {
		return err
	}
	// :copyfrom streams rows with COPY: the fastest way to load many.
	var sales []catalog.CopySalesParams
	firstDay := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for day := range 3 {
		for i, id := range ids {
			qty := int32(1 + (i+day)%3)
			sales = append(sales, catalog.CopySalesParams{
				ProductID:   id,
				SoldOn:      pgtype.Date{Time: firstDay.AddDate(0, 0, day), Valid: true},
				Quantity:    qty,
				AmountCents: int64(qty) * products[i].PriceCents,
			})
		}
	}
	if _, err := q.CopySales(ctx, sales); err != nil {
		return fmt.Errorf("copy sales: %w", err)
	}
	return nil
}

// cmpErr keeps the first error of a batch, naming the failed row.
func cmpErr(first, err error, what string, i int) error {
	if first != nil || err == nil {
		return first
	}
	return fmt.Errorf("insert %s %d: %w", what, i, err)
}

// search maps a query string, as an HTTP handler receives it, onto the one
// static query: an absent parameter is NULL (no filter), and nothing from
// the request becomes SQL text.
func search(ctx context.Context, q *catalog.Queries, query string) ([]catalog.SearchProductsRow, error) {
	v, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("parse query: %w", err)
	}
	// A misspelt filter must not quietly widen the result, and a repeated
	// one is ambiguous: both are errors, not "first value wins".
	searchParams := []string{"category_id", "min_price", "name", "sort"}
	for _, key := range slices.Sorted(maps.Keys(v)) {
		switch {
		case !slices.Contains(searchParams, key):
			return nil, fmt.Errorf("unknown parameter %q (want %s)", key, strings.Join(searchParams, ", "))
		case len(v[key]) > 1:
			return nil, fmt.Errorf("%s: given %d times", key, len(v[key]))
		}
	}
	sortKey, err := parseSort(cmp.Or(v.Get("sort"), "name"))
	if err != nil {
		return nil, err
	}
	p := catalog.SearchProductsParams{SortKey: sortKey}
	filters := []struct {
		name string
		dst  *pgtype.Int8
	}{{"category_id", &p.CategoryID}, {"min_price", &p.MinPrice}}
	for _, f := range filters {
		if s := v.Get(f.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not an integer", f.name, s)
			}
			*f.dst = some(n)
		}
	}
	if s := v.Get("name"); s != "" {
		prefix, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		p.NamePrefix = pgtype.Text{String: prefix, Valid: true}
	}
	rows, err := q.SearchProducts(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("search products: %w", err)
	}
	return rows, nil
}

// page returns the products of listing after the position in token
// ("" = first page) and the token of the next page ("" = last page).
// listing names the sort and filters of the request, normalised (here
// always byName); the token is signed for it and refused for any other.
func page(ctx context.Context, q *catalog.Queries, secret []byte, listing, token string, size int32) (
	[]catalog.ProductsPageRow, string, error) {
	if size < 1 || size > maxPageSize {
		return nil, "", fmt.Errorf("page size: want 1 to %d, got %d", maxPageSize, size)
	}
	after := pageKey{Listing: listing}
	if token != "" {
		var err error
		if after, err = decodeToken(secret, token); err != nil {
			return nil, "", err
		}
		if after.Listing != listing {
			return nil, "", fmt.Errorf("%w: issued for another listing", errPageToken)
		}
	}
	rows, err := q.ProductsPage(ctx, catalog.ProductsPageParams{
		AfterName: after.Name, AfterID: after.ID, PageSize: size,
	})
	if err != nil || len(rows) < int(size) {
		return rows, "", err
	}
	last := rows[len(rows)-1]
	next, err := encodeToken(secret, pageKey{Listing: listing, Name: last.Name, ID: last.ID})
	return rows, next, err
}

// byName is the one listing ProductsPage serves: every product, by name.
const byName = "sort=name"

func browse(ctx context.Context, q *catalog.Queries, stdout io.Writer) error {
	for _, query := range []string{
		"min_price=50000&sort=-price",
		"category_id=3",
		"name=P&sort=price",
		"name=50%25", // no name starts with "50%", although "%" alone would match all
		"sort=price+DESC",
		"min_price=cheap",
	} {
		rows, err := search(ctx, q, query)
		if err != nil {
			fmt.Fprintf(stdout, "?%s: %v\n", query, err)
			continue
		}
		names := make([]string, len(rows))
		for i, p := range rows {
			names[i] = fmt.Sprintf("%s %s", p.Name, money(p.PriceCents))
		}
		fmt.Fprintf(stdout, "?%s: [%s]\n", query, strings.Join(names, ", "))
	}

	byID, err := q.ProductsByIDs(ctx, []int64{2, 4, 6})
	if err != nil {
		return fmt.Errorf("products by ids: %w", err)
	}
	names := make([]string, len(byID))
	for i, p := range byID {
		names[i] = fmt.Sprintf("%d %s", p.ID, p.Name)
	}
	fmt.Fprintf(stdout, "id = ANY({2,4,6}): [%s]\n", strings.Join(names, ", "))

	secret := newTokenSecret()
	var token, forged, first string
	var pages []string
	for n := 1; ; n++ {
		rows, next, err := page(ctx, q, secret, byName, token, 3)
		if err != nil {
			return fmt.Errorf("page %d: %w", n, err)
		}
		names := make([]string, len(rows))
		for i, p := range rows {
			names[i] = p.Name
		}
		pages = append(pages, "["+strings.Join(names, ", ")+"]")
		if n == 1 {
			first = next
			// A client edits the position inside the token to skip ahead.
			_, sig, _ := strings.Cut(next, ".")
			forged = base64.RawURLEncoding.EncodeToString([]byte(`{"q":"sort=name","n":"Tower","i":0}`)) + "." + sig
		}
		if token = next; token == "" {
			break
		}
	}
	fmt.Fprintf(stdout, "keyset pages of 3: %s\n", strings.Join(pages, " "))
	_, _, err = page(ctx, q, secret, byName, forged, 3)
	fmt.Fprintf(stdout, "forged page token: %v\n", err)
	// A genuine token of this listing, sent with another sort or filter.
	_, _, err = page(ctx, q, secret, "category_id=3&sort=price", first, 3)
	fmt.Fprintf(stdout, "token of another listing: %v\n", err)
	// The page size comes from the request too: 0 would mean no last row.
	_, _, err = page(ctx, q, secret, byName, "", 0)
	fmt.Fprintf(stdout, "page size 0: %v\n", err)
	return nil
}
