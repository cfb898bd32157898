package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// parseSort checks a sort key from a request against the allow-list. The
// SQL knows only these values; anything else is rejected here, before a
// query runs.
func parseSort(key string) (string, error) {
	switch key {
	case "name", "price", "-price":
		return key, nil
	}
	return "", fmt.Errorf("unknown sort key %q (want one of name, price, -price)", key)
}

// maxPrefix bounds the name filter a request may send.
const maxPrefix = 100

// parsePrefix checks a name prefix from a request and escapes it for LIKE.
// PostgreSQL text holds UTF-8 without NUL bytes; anything else would fail
// on the server as an error the caller could not tell from an outage.
func parsePrefix(s string) (string, error) {
	if len(s) > maxPrefix || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("name: want up to %d bytes of UTF-8 text without NUL", maxPrefix)
	}
	return likePrefix(s), nil
}

// likePrefix escapes LIKE's wildcards, so a user's "50%" matches the text
// "50%" and not every name starting with "50".
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// pageKey is the position after which the next page starts: the sort
// columns of the last row, (name, id), and the listing (sort and filters)
// it was issued for. A position means nothing under another sort or
// filter, so a token presented for another listing is refused.
type pageKey struct {
	Listing string `json:"q"`
	Name    string `json:"n"`
	ID      int64  `json:"i"`
}

// maxPageSize bounds the page size a request may ask for.
const maxPageSize = 100

// errPageToken is returned for any token that was not issued by us.
var errPageToken = errors.New("invalid page token")

// encodeToken signs the position with HMAC-SHA256: clients hold tokens,
// so a token must not let them jump to rows of their choosing.
func encodeToken(secret []byte, k pageKey) (string, error) {
	payload, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("encode page token: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(sign(secret, payload)), nil
}

// decodeToken verifies the signature before it looks at the payload.
func decodeToken(secret []byte, token string) (pageKey, error) {
	enc := base64.RawURLEncoding
	p, s, ok := strings.Cut(token, ".")
	payload, err1 := enc.DecodeString(p)
	sig, err2 := enc.DecodeString(s)
	if !ok || err1 != nil || err2 != nil {
		return pageKey{}, fmt.Errorf("%w: malformed", errPageToken)
	}
	if !hmac.Equal(sig, sign(secret, payload)) {
		return pageKey{}, fmt.Errorf("%w: signature mismatch", errPageToken)
	}
	var k pageKey
	if err := json.Unmarshal(payload, &k); err != nil {
		return pageKey{}, fmt.Errorf("%w: %w", errPageToken, err)
	}
	return k, nil
}

func sign(secret, payload []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(payload)
	return mac.Sum(nil)
}
