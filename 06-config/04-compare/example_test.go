package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
)

func ExampleSecret() {
	s := Secret("hunter2")
	fmt.Printf("%v %+v %#v\n", s, s, s)
	b, _ := json.Marshal(struct{ Password Secret }{s})
	fmt.Println(string(b))
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	log.Info("db", "password", s)
	// Output:
	// [REDACTED] [REDACTED] [REDACTED]
	// {"Password":"[REDACTED]"}
	// level=INFO msg=db password=[REDACTED]
}

func ExampleLevel_UnmarshalText() {
	var l Level
	fmt.Println(l.UnmarshalText([]byte("warn")), l)
	fmt.Println(l.UnmarshalText([]byte("verbose")), l)
	// Output:
	// <nil> WARN
	// "verbose" is not a log level (want debug, info, warn or error) WARN
}
