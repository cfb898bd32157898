package main

// The field set of zap's own benchmarks (benchmarks/zap_test.go): slices,
// times, two objects and an array of ten objects. slog gets them as
// slog.Any (encoding/json, reflection), as zap's benchmarks do; zerolog
// gets its typed equivalents (zap's published zerolog row logs scalars
// only, "obj": "not supported yet").

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type user struct {
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

func (u *user) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("name", u.Name)
	enc.AddString("email", u.Email)
	enc.AddInt64("createdAt", u.CreatedAt.UnixNano())
	return nil
}

func (u *user) MarshalZerologObject(e *zerolog.Event) {
	e.Str("name", u.Name).Str("email", u.Email).Int64("createdAt", u.CreatedAt.UnixNano())
}

type users []*user

func (uu users) MarshalLogArray(arr zapcore.ArrayEncoder) error {
	for _, u := range uu {
		if err := arr.AppendObject(u); err != nil {
			return err
		}
	}
	return nil
}

func (uu users) MarshalZerologArray(a *zerolog.Array) {
	for _, u := range uu {
		a.Object(u)
	}
}

var (
	tenInts    = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}
	tenStrings = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	tenTimes   = func() []time.Time {
		ts := make([]time.Time, 10)
		for i := range ts {
			ts[i] = time.Unix(int64(i), 0)
		}
		return ts
	}()
	oneUser  = &user{Name: "Jane Doe", Email: "jane@test.com", CreatedAt: time.Date(1980, 1, 1, 12, 0, 0, 0, time.UTC)}
	tenUsers = users{oneUser, oneUser, oneUser, oneUser, oneUser, oneUser, oneUser, oneUser, oneUser, oneUser}
)

func mixedZap() []zap.Field {
	return []zap.Field{zap.Int("int", tenInts[0]), zap.Ints("ints", tenInts), zap.String("string", tenStrings[0]),
		zap.Strings("strings", tenStrings), zap.Time("time", tenTimes[0]), zap.Times("times", tenTimes),
		zap.Object("user1", oneUser), zap.Object("user2", oneUser), zap.Array("users", tenUsers), zap.Error(errExample)}
}

func mixedSlog() []slog.Attr {
	return []slog.Attr{slog.Int("int", tenInts[0]), slog.Any("ints", tenInts), slog.String("string", tenStrings[0]),
		slog.Any("strings", tenStrings), slog.Time("time", tenTimes[0]), slog.Any("times", tenTimes),
		slog.Any("user1", oneUser), slog.Any("user2", oneUser), slog.Any("users", tenUsers), slog.Any("error", errExample)}
}

func mixedArgs() []any {
	return []any{"int", tenInts[0], "ints", tenInts, "string", tenStrings[0], "strings", tenStrings,
		"time", tenTimes[0], "times", tenTimes, "user1", oneUser, "user2", oneUser, "users", tenUsers, "error", errExample}
}

func mixedZerolog(e *zerolog.Event) *zerolog.Event {
	return e.Int("int", tenInts[0]).Ints("ints", tenInts).Str("string", tenStrings[0]).Strs("strings", tenStrings).
		Time("time", tenTimes[0]).Times("times", tenTimes).Object("user1", oneUser).Object("user2", oneUser).
		Array("users", tenUsers).Err(errExample)
}

func BenchmarkTenMixedFields(b *testing.B) {
	ctx := context.Background()
	b.Run("slog", func(b *testing.B) {
		l := slogJSON()
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg, mixedSlog()...) })
	})
	b.Run("slog-kv", func(b *testing.B) { l := slogJSON(); parallel(b, func() { l.Info(msg, mixedArgs()...) }) })
	b.Run("zap", func(b *testing.B) { l := zap.New(zapCore()); parallel(b, func() { l.Info(msg, mixedZap()...) }) })
	b.Run("zap-sugar", func(b *testing.B) {
		l := zap.New(zapCore()).Sugar()
		parallel(b, func() { l.Infow(msg, mixedArgs()...) })
	})
	b.Run("zerolog", func(b *testing.B) { l := zerologLogger(); parallel(b, func() { mixedZerolog(l.Info()).Msg(msg) }) })
	b.Run("slog-on-zap", func(b *testing.B) {
		l := slogOnZap()
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg, mixedSlog()...) })
	})
}
