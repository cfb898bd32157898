package main

import (
	"bytes"
	"fmt"
)

// decode's error is the reason a worker dead-letters a message.
func Example_decode() {
	for _, body := range [][]byte{
		[]byte(`{"type":"thumbnail","id":1}`),
		[]byte(`{"type":"resize-video","id":2}`),
		[]byte(`{"type":`),
		bytes.Repeat([]byte(" "), maxBody+1),
	} {
		job, err := decode(body)
		fmt.Printf("%+v %v\n", job, err)
	}
	// Output:
	// {Type:thumbnail ID:1 Flaky:false} <nil>
	// {Type:resize-video ID:2 Flaky:false} unknown type "resize-video"
	// {Type: ID:0 Flaky:false} undecodable: unexpected end of JSON input
	// {Type: ID:0 Flaky:false} oversized: 65537 bytes exceeds 65536
}
