package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// parseError rebuilds the error of parsing the connection string in env
// from its message alone, without the connection string. pgconn masks the
// password in its message on a best-effort basis only, and its
// *pgconn.ParseConfigError keeps the raw string in ConnString, where %#v,
// errors.As and loggers that print structs find it: the rebuilt error
// wraps nothing.
func parseError(env string, err error) error {
	if pe, ok := errors.AsType[*pgconn.ParseConfigError](err); ok {
		bare := *pe
		bare.ConnString = ""
		return fmt.Errorf("parse %s: %s", env, strings.TrimPrefix(bare.Error(), "cannot parse ``: "))
	}
	return fmt.Errorf("parse %s: %s", env, err.Error())
}
