package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
)

// maxPassphraseFile bounds how much of a passphrase file is read. A
// passphrase is one line; a larger file is certainly the wrong file, and
// reading it whole could exhaust memory.
const maxPassphraseFile = 64 << 10

// passwordReader reads a secret from a person at a terminal. The prompt is
// shown first; the answer is not echoed. It returns ctx's error when ctx is
// cancelled before the person answers.
type passwordReader interface {
	readPassword(ctx context.Context, prompt string) ([]byte, error)
}

// passphraseSource says where getPassphrase looks: a file named by
// --passphrase-file (flag) or HEARTH_PASSPHRASE_FILE, else the terminal.
type passphraseSource struct {
	flagFile string
}

// getPassphrase returns the passphrase for the home in dir. When isNew is
// set the passphrase is a new one: at a terminal it is asked twice and the
// two must match, and from a terminal or a file it must be at least
// api.MinPassphraseLen characters, the floor the web UI's setup applies
// too (a home that exists opens with whatever passphrase it has). The
// caller wipes the result with crypto.Wipe when done.
func getPassphrase(ctx context.Context, e *env, src passphraseSource, dir string, isNew bool) ([]byte, error) {
	file, from := src.flagFile, "--passphrase-file"
	if file == "" {
		file, from = e.getenv("HEARTH_PASSPHRASE_FILE"), "HEARTH_PASSPHRASE_FILE"
	}
	if isNew {
		return chooseNewPassphrase(ctx, e, newPassphrase{
			file: file, from: from, give: "--passphrase-file FILE or HEARTH_PASSPHRASE_FILE", what: "a new home's passphrase",
			prompt: fmt.Sprintf("Choose a passphrase for the new Hearth home %s: ", dir), unchanged: "nothing was created",
		})
	}
	if file != "" {
		return readPassphraseFile(e, file, from)
	}
	if e.terminal == nil {
		return nil, usagef("no passphrase: standard input is not a terminal, so give the passphrase in a file with --passphrase-file FILE or HEARTH_PASSPHRASE_FILE (its first line is the passphrase)")
	}
	p, err := e.terminal.readPassword(ctx, fmt.Sprintf("Passphrase for %s: ", dir))
	if err != nil {
		return nil, promptErr(err)
	}
	if len(p) == 0 {
		return nil, errors.New("the passphrase is empty; run the command again and type the passphrase of this home")
	}
	return p, nil
}

// newPassphrase says where chooseNewPassphrase finds a new passphrase and
// how its messages name it.
type newPassphrase struct {
	// file is the passphrase file ("" to ask at the terminal), and from
	// names where file came from (a flag or an environment variable).
	file, from string
	// give says how to name a file, for the message when there is
	// neither a file nor a terminal.
	give string
	// what names the passphrase in the too-short message ("a new home's
	// passphrase"); prompt is the terminal's first question; unchanged
	// says what did not happen when the person gets it wrong ("nothing
	// was created").
	what, prompt, unchanged string
}

// chooseNewPassphrase returns a new passphrase from np.file, else from the
// terminal, where it is asked twice and the two must match. Either way it
// must be at least api.MinPassphraseLen characters. The caller wipes the
// result with crypto.Wipe when done.
func chooseNewPassphrase(ctx context.Context, e *env, np newPassphrase) ([]byte, error) {
	if np.file != "" {
		p, err := readPassphraseFile(e, np.file, np.from)
		if err != nil {
			return nil, err
		}
		if n := utf8.RuneCount(p); n < api.MinPassphraseLen {
			crypto.Wipe(p)
			return nil, usagef("the passphrase in %s (from %s) is %d characters long, and %s must have at least %d; "+
				"put a longer one on its first line (a few unrelated words are easy to remember and hard to guess)", np.file, np.from, n, np.what, api.MinPassphraseLen)
		}
		return p, nil
	}
	if e.terminal == nil {
		return nil, usagef("no passphrase: standard input is not a terminal, so give the passphrase in a file with %s (its first line is the passphrase)", np.give)
	}
	p, err := e.terminal.readPassword(ctx, np.prompt)
	if err != nil {
		return nil, promptErr(err)
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("the passphrase is empty; %s, run the command again and choose one (a few unrelated words are easy to remember and hard to guess)", np.unchanged)
	}
	if n := utf8.RuneCount(p); n < api.MinPassphraseLen {
		crypto.Wipe(p)
		return nil, fmt.Errorf("that passphrase is %d characters long, and %s must have at least %d; %s, run the command again and choose a longer one (a few unrelated words are easy to remember and hard to guess)", n, np.what, api.MinPassphraseLen, np.unchanged)
	}
	again, err := e.terminal.readPassword(ctx, "Type the same passphrase again: ")
	if err != nil {
		crypto.Wipe(p)
		return nil, promptErr(err)
	}
	defer crypto.Wipe(again)
	if !crypto.Equal(p, again) {
		crypto.Wipe(p)
		return nil, fmt.Errorf("the two passphrases differ; %s, run the command again", np.unchanged)
	}
	return p, nil
}

func promptErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted while asking for the passphrase; nothing was changed")
	}
	return fmt.Errorf("cannot read the passphrase from the terminal: %v", err)
}

// readPassphraseFile returns the first line of the file at path, without
// its line ending. from names where path came from, for messages. It
// refuses an empty passphrase and warns on stderr when other users can read
// the file.
func readPassphraseFile(e *env, path, from string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("cannot read the passphrase file %s (from %s): %v", path, from, osErr(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read the passphrase file %s: %v", path, osErr(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, usagef("the passphrase file %s (from %s) is not a regular file", path, from)
	}
	if fi.Mode().Perm()&0o044 != 0 {
		fmt.Fprintf(e.stderr, "hearth: warning: other users can read the passphrase file %s; run 'chmod 600 %s'\n", path, path)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile+1))
	defer crypto.Wipe(buf)
	if err != nil {
		return nil, fmt.Errorf("cannot read the passphrase file %s: %v", path, osErr(err))
	}
	if len(buf) > maxPassphraseFile {
		return nil, usagef("the passphrase file %s (from %s) is larger than %d KiB; it should hold one line", path, from, maxPassphraseFile>>10)
	}
	line := buf
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return nil, usagef("the passphrase file %s (from %s) starts with an empty line; put the passphrase on its first line", path, from)
	}
	// Copy out of buf, which is wiped on return.
	return append([]byte(nil), line...), nil
}

// ttyReader reads passphrases from the terminal on fd, prompting on out.
type ttyReader struct {
	fd  int
	out io.Writer
}

// stdinTerminal returns a passwordReader for stdin when it is a terminal,
// and nil otherwise.
func stdinTerminal(stdin *os.File, prompt io.Writer) passwordReader {
	fd := int(stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	return ttyReader{fd: fd, out: prompt}
}

// readPassword turns echo off, reads one line and turns echo back on. If
// ctx is cancelled first (the person pressed Ctrl-C, which hearth catches
// to shut down cleanly) it puts the terminal back as it was, so the shell
// the person returns to still echoes what they type.
func (t ttyReader) readPassword(ctx context.Context, prompt string) ([]byte, error) {
	state, err := term.GetState(t.fd)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(t.out, prompt)
	type result struct {
		p   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := term.ReadPassword(t.fd)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(t.out)
		return r.p, r.err
	case <-ctx.Done():
		// The reading goroutine stays blocked on the terminal; the
		// process is about to exit, which ends it.
		term.Restore(t.fd, state)
		fmt.Fprintln(t.out)
		return nil, ctx.Err()
	}
}
