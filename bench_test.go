package authcube_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/authcube/authcube"
)

// benchEngine is an engine for benchmarks: default (durable) storage and, unless cheap is set,
// the default argon2id parameters.
func benchEngine(b *testing.B, cheap bool) *testEngine {
	return newTestEngine(b, func(c *authcube.Config) {
		c.Rand = nil // crypto/rand, as in production
		c.OnEvent = nil
		c.Logger = slog.New(slog.DiscardHandler)
		if !cheap {
			c.Hashing = authcube.HashParams{}
		}
	})
}

// parallel64 runs f from 64 goroutines at once, whatever GOMAXPROCS is.
func parallel64(b *testing.B, f func() error) {
	b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := f(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkCreateSession: 64 concurrent callers, each creation durable (group commit).
func BenchmarkCreateSession(b *testing.B) {
	te := benchEngine(b, true)
	b.ReportAllocs()
	parallel64(b, func() error { _, err := te.CreateSession(ctx); return err })
}

// BenchmarkSignUp: one caller, default argon2id parameters.
func BenchmarkSignUp(b *testing.B) {
	te := benchEngine(b, false)
	app := te.appSession(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: fmt.Sprintf("user%d", i), Password: testPassword}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignIn: one caller, default argon2id parameters (one verify per sign-in).
func BenchmarkSignIn(b *testing.B) {
	te := benchEngine(b, false)
	te.signUp(b, "marvin18")
	app := te.appSession(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: testPassword}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSession: details of a live token, with the sliding expiry written each time.
func BenchmarkSession(b *testing.B) {
	te := benchEngine(b, true)
	tokens := make([]string, 64)
	for i := range tokens {
		tokens[i] = te.appSession(b).Token
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := te.Session(ctx, tokens[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel64", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Int64
		parallel64(b, func() error {
			_, err := te.Session(ctx, tokens[next.Add(1)%64])
			return err
		})
	})
}
