package main

import (
	"fmt"
	"strings"
)

// decode's error is the reason an entry is dead-lettered.
func Example_decode() {
	for _, v := range []map[string]any{
		{"payload": `{"type":"signup","user":"ann"}`},
		{"payload": `{"type":"refund"}`},
		{"payload": `not json`},
		{"body": "x"},
		{"payload": strings.Repeat(" ", maxPayload+1)},
	} {
		e, err := decode(v)
		fmt.Printf("%+v %v\n", e, err)
	}
	// Output:
	// {Type:signup User:ann} <nil>
	// {Type:refund User:} unknown type "refund"
	// {Type: User:} undecodable: invalid character 'o' in literal null (expecting 'u')
	// {Type: User:} undecodable: no payload field
	// {Type: User:} oversized: 65537 bytes exceeds 65536
}
