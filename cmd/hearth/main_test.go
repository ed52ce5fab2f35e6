package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hearthnet/hearth/crypto"
)

// testKDF are the Argon2id parameters homes are created with in tests: the
// cheapest the keystore accepts, so that scripts which create many homes
// stay fast. The real binary always uses crypto.DefaultKDFParams.
func testKDF() crypto.KDFParams { return crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1} }

// TestMain lets the test binary act as the hearth command inside scripts, so
// the scripts exercise the real argument parsing, output, signal handling and
// exit codes. Only the key derivation cost differs from the real binary.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hearth": func() {
			ctx, stop := shutdownOnSignal(context.Background())
			e := osEnv()
			e.kdf = testKDF()
			code := run(ctx, e, os.Args[1:])
			stop()
			os.Exit(code)
		},
	})
}

// TestScripts runs every script in testdata/script. Each script is a small
// session at a terminal: the commands a person types and what they must see.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}
