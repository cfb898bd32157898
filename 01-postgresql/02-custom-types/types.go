package main

import (
	"errors"
	"fmt"
	"net/mail"

	"github.com/jackc/pgx/v5/pgtype"
)

// Status mirrors the PostgreSQL enum order_status. The server rejects any
// other value; the Go type documents the allowed ones.
type Status string

const (
	StatusPending Status = "pending"
	StatusPaid    Status = "paid"
	StatusShipped Status = "shipped"
)

// Address maps the composite type address field by field, in order.
type Address struct {
	Street string
	City   string
	Zip    string
}

// Meta is stored as JSONB; pgx marshals it with encoding/json.
type Meta struct {
	Gift bool     `json:"gift"`
	Tags []string `json:"tags"`
}

// Email is a domain type in Go: it can only hold a valid address, checked
// when parsed, when written (TextValue) and when read (ScanText).
type Email string

// ParseEmail accepts a bare address, without a display name.
func ParseEmail(s string) (Email, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("invalid email %q", s)
	}
	return Email(s), nil
}

// TextValue implements pgtype.TextValuer: pgx refuses to send an invalid
// email, so it never reaches the table.
func (e Email) TextValue() (pgtype.Text, error) {
	if _, err := ParseEmail(string(e)); err != nil {
		return pgtype.Text{}, err
	}
	return pgtype.Text{String: string(e), Valid: true}, nil
}

// ScanText implements pgtype.TextScanner: a bad value already in the
// table fails the read instead of spreading.
func (e *Email) ScanText(v pgtype.Text) error {
	if !v.Valid {
		return errors.New("email is NULL")
	}
	parsed, err := ParseEmail(v.String)
	if err != nil {
		return err
	}
	*e = parsed
	return nil
}
