package main

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// redact keeps only the message of a parse error, where pgconn masks the
// password: the error value itself carries the raw URL in its ConnString
// field, which a logger that prints structs would write out.
func redact(err error) error {
	if pe, ok := errors.AsType[*pgconn.ParseConfigError](err); ok {
		return errors.New(pe.Error())
	}
	return err
}
