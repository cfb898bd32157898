package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// callRoutes calls each route once as curl would and prints status and
// body (compacted: protojson varies its whitespace).
func callRoutes(ctx context.Context, base string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	big := `{"sku":"BIG-1","name":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/healthz", ""},
		{"GET", "/v1/products/HW-042?read_mask=name,stock", ""},
		{"GET", "/v1/products?category=CATEGORY_BOOKS", ""},
		{"GET", "/v1/products?page_size=-1", ""},
		{"GET", "/v1/products?limit=-1", ""},
		{"POST", "/v1/products", `{"sku":"TEA-100","name":"Green tea","priceCents":650,"category":"CATEGORY_FOOD"}`},
		{"POST", "/v1/products", `{"sku":"TEA-101","name":`},
		{"POST", "/v1/products", `{"sku":"TEA-101","priceCents":"cheap"}`},
		{"POST", "/v1/products", `{"sku":"TEA-101","colour":"green"}`},
		{"POST", "/v1/products", `{"sku":"TEA-101","name":"Black tea","priceCents":-1,"category":"CATEGORY_FOOD"}`},
		{"POST", "/v1/products", big},
		{"GET", "/v1/products/BOOK-999", ""},
		{"GET", "/v1/warehouses", ""},
	} {
		status, body, err := do(ctx, c.method, base+c.path, c.body)
		if err != nil {
			return err
		}
		what := c.path
		if len(c.body) == len(big) {
			what += " (64 KiB body)"
		}
		fmt.Fprintf(stdout, "%s %s -> %d %s\n", c.method, what, status, body)
	}
	// The request id reaches the backend as metadata; the backend's echo
	// comes back as a response header.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/products/BOOK-001?read_mask=sku", nil)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("X-Request-Id", "req-42")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get with request id: %w", err)
	}
	res.Body.Close()
	fmt.Fprintf(stdout, "GET with X-Request-Id: req-42 -> %d, X-Request-Id: %s\n", res.StatusCode, res.Header.Get("X-Request-Id"))
	status, body, err := do(ctx, "GET", base+"/openapi.json", "")
	if err != nil {
		return err
	}
	var doc struct {
		Swagger string         `json:"swagger"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return fmt.Errorf("decode openapi.json: %w", err)
	}
	fmt.Fprintf(stdout, "GET /openapi.json -> %d swagger %s, %d paths\n", status, doc.Swagger, len(doc.Paths))
	return nil
}

func do(ctx context.Context, method, url, body string) (status int, compact string, err error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("request %s %s: %w", method, url, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", fmt.Errorf("read %s %s: %w", method, url, err)
	}
	// A server stream arrives as one JSON object per line.
	var out []string
	for line := range bytes.Lines(raw) {
		var buf bytes.Buffer
		if json.Compact(&buf, line) != nil {
			out = append(out, string(bytes.TrimSpace(line))) // not JSON: print as is
			continue
		}
		out = append(out, buf.String())
	}
	// protobuf-go puts a space or a no-break space after "proto:" in its
	// errors, at random per build, so nobody compares them as strings.
	return res.StatusCode, strings.ReplaceAll(strings.Join(out, " "), "\u00a0", " "), nil
}
