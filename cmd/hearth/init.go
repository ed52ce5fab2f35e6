package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hearthnet/hearth/crypto"
)

// runInit is `hearth init`: it creates a new home (identity, keystore and
// database) sealed under a new passphrase, and refuses a home that exists.
func runInit(ctx context.Context, e *env, args []string) int {
	f, err := parseFlags("init", args)
	if errors.Is(err, errHelp) {
		printCommandHelp(e.stdout, "init")
		return exitOK
	}
	if err != nil {
		return fail(e, "init", err)
	}
	dir, err := resolveHome(e, f.home)
	if err != nil {
		return fail(e, "init", err)
	}
	if _, err := ensureHome(dir); err != nil {
		return fail(e, "init", err)
	}
	lock, err := lockHome(dir)
	if err != nil {
		return fail(e, "init", err)
	}
	defer lock.release()
	isNew, err := homeIsNew(dir)
	if err != nil {
		return fail(e, "init", err)
	}
	if !isNew {
		return fail(e, "init", fmt.Errorf("%s is already a Hearth home; start it with 'hearth up%s'", dir, homeArg(f)))
	}
	pass, err := getPassphrase(ctx, e, passphraseSource{flagFile: f.passphraseFile}, dir, true)
	if err != nil {
		return fail(e, "init", err)
	}
	defer crypto.Wipe(pass)
	if err := createHome(e, dir, pass); err != nil {
		return fail(e, "init", err)
	}
	fmt.Fprintf(e.stdout, "Created a new Hearth home in %s.\nStart it with 'hearth up%s'. Keep your passphrase safe: without it nobody, not even you, can open this home.\n", dir, homeArg(f))
	return exitOK
}

// homeArg returns " --home DIR" when the home was given with --home, so that
// the commands hearth suggests work when copied.
func homeArg(f *cmdFlags) string {
	if f.home == "" {
		return ""
	}
	return " --home " + shellQuote(f.home)
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// characters that are safe bare. Double quotes come first, when nothing in
// s is special inside them: the commands hearth suggests are shown between
// single quotes ('hearth waiting "Quiet room"'), where a single-quoted
// argument would read as the end of the command.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '.' || r == '-' || r == '_' || r == '~') {
			if !strings.ContainsAny(s, "\"$`\\!") {
				return `"` + s + `"`
			}
			q := "'"
			for _, r := range s {
				if r == '\'' {
					q += `'\''`
				} else {
					q += string(r)
				}
			}
			return q + "'"
		}
	}
	return s
}
