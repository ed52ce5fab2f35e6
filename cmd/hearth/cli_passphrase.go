package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// Changing the passphrase that opens a home. The keystore is re-sealed
// under the new passphrase (crypto.Keystore.ChangePassphrase): the keys
// inside do not change, so the node's peer ID, its groups and its data stay
// as they are. `hearth passphrase` does it on the home directly when no
// daemon runs on it; when one does, the daemon holds the keystore, so the
// command asks it (POST /api/v1/passphrase, which the web UI's "Change
// passphrase" uses too), and the daemon's daemonPassphrase does the work.

// passphraseFlags holds the flags of `hearth passphrase`.
type passphraseFlags struct {
	currentFile, newFile string
}

// passphraseCommands lists `hearth passphrase`; f receives its flags.
func passphraseCommands(f *passphraseFlags) []cliCommand {
	return []cliCommand{
		{name: "passphrase", summary: "change the passphrase that opens this home (a backup made before still opens with the old one)", run: f.change,
			flags: func(fs *flag.FlagSet, _ *cliOpts) {
				fs.StringVar(&f.currentFile, "passphrase-file", "", "read the current passphrase from the first line of `FILE` instead of asking (default $HEARTH_PASSPHRASE_FILE)")
				fs.StringVar(&f.newFile, "new-passphrase-file", "", "read the new passphrase from the first line of `FILE` instead of asking")
			}},
	}
}

// runPassphrase is `hearth passphrase`, the entry of main.go's command
// table.
func runPassphrase(ctx context.Context, e *env, args []string) int {
	return runFamily(ctx, e, "passphrase", passphraseCommands(&passphraseFlags{}), args)
}

func (f *passphraseFlags) change(ctx context.Context, r *cliRun) error {
	isNew, err := homeIsNew(r.home)
	if err != nil {
		return cliErrorf("no_home", "%v", err)
	}
	if isNew {
		return cliErrorf("no_home", "there is no Hearth home in %s; create one with 'hearth init%s'", r.home, r.homeFlag)
	}
	lock, err := lockHome(r.home)
	var inUse *homeInUseError
	switch {
	case errors.As(err, &inUse):
		return f.changeThroughDaemon(ctx, r)
	case err != nil:
		return cliErrorf("no_home", "%v", err)
	}
	defer lock.release()

	current, err := getPassphrase(ctx, r.e, passphraseSource{flagFile: f.currentFile}, r.home, false)
	if err != nil {
		return err
	}
	defer crypto.Wipe(current)
	ks, err := node.UnlockHome(r.home, current)
	if err != nil {
		return currentPassphraseError(r, err)
	}
	defer ks.Close()
	next, err := f.newPassphrase(ctx, r)
	if err != nil {
		return err
	}
	defer crypto.Wipe(next)
	if err := ks.ChangePassphrase(next, strongerKDF(ks.Params(), r.e.kdf), nil); err != nil {
		return cliErrorf("passphrase_failed", "%v", err)
	}
	return changedOut(r, "")
}

// changeThroughDaemon has the daemon running on the home change the
// passphrase: it holds the keystore open, and checks the current
// passphrase itself.
func (f *passphraseFlags) changeThroughDaemon(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return cliErrorf("daemon_running", "the daemon of %s holds its keystore but does not answer; stop it (Ctrl-C where 'hearth up' runs) and run 'hearth passphrase%s' again. Nothing was changed.", r.home, r.homeFlag)
	}
	current, err := getPassphrase(ctx, r.e, passphraseSource{flagFile: f.currentFile}, r.home, false)
	if err != nil {
		return err
	}
	defer crypto.Wipe(current)
	next, err := f.newPassphrase(ctx, r)
	if err != nil {
		return err
	}
	defer crypto.Wipe(next)
	if err := r.call(ctx, c.ChangePassphrase(ctx, string(current), string(next))); err != nil {
		return err
	}
	return changedOut(r, " by the running daemon")
}

// newPassphrase asks for the new passphrase, or reads it from
// --new-passphrase-file.
func (f *passphraseFlags) newPassphrase(ctx context.Context, r *cliRun) ([]byte, error) {
	return chooseNewPassphrase(ctx, r.e, newPassphrase{
		file: f.newFile, from: "--new-passphrase-file", give: "--new-passphrase-file FILE",
		what: "a new passphrase", prompt: fmt.Sprintf("New passphrase for %s: ", r.home), unchanged: "nothing was changed",
	})
}

func changedOut(r *cliRun, by string) error {
	return r.out(map[string]bool{"changed": true}, func(w io.Writer) {
		fmt.Fprintf(w, "Changed%s. From now on the new passphrase opens %s; a backup of it made before still opens with the old one.\n", by, r.home)
	})
}

// currentPassphraseError is the error of a current passphrase that does
// not open the home, or of a keystore that cannot be read.
func currentPassphraseError(r *cliRun, err error) error {
	if errors.Is(err, crypto.ErrBadPassphrase) {
		return cliErrorf(api.CodeBadPassphrase, "that is not the passphrase of %s; nothing was changed", r.home)
	}
	return cliErrorf("keystore", "%v; nothing was changed", unlockError(r.home, err))
}

// strongerKDF returns, field by field, the larger of two sets of Argon2id
// parameters: a passphrase change seals with this build's parameters, but
// never weakens ones a member raised.
func strongerKDF(a, b crypto.KDFParams) crypto.KDFParams {
	return crypto.KDFParams{Time: max(a.Time, b.Time), MemoryKiB: max(a.MemoryKiB, b.MemoryKiB), Threads: max(a.Threads, b.Threads)}
}

// daemonPassphrase changes the passphrase of the home a daemon holds open:
// it is the api.PassphraseFunc of POST /api/v1/passphrase.
type daemonPassphrase struct {
	dir    string
	ks     *crypto.Keystore
	kdf    crypto.KDFParams
	logger *slog.Logger
	// mu keeps two changes from re-sealing the file at once.
	mu sync.Mutex
}

// change checks current by opening a second copy of the keystore with it
// (the only check there is: the keystore keeps no hash of the passphrase),
// then re-seals the open keystore under next. Only the outcome is logged.
func (p *daemonPassphrase) change(current, next []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	check, err := node.UnlockHome(p.dir, current)
	if err != nil {
		return err
	}
	check.Close()
	if err := p.ks.ChangePassphrase(next, strongerKDF(p.ks.Params(), p.kdf), nil); err != nil {
		p.logger.Error("changing the passphrase", "err", err)
		return err
	}
	p.logger.Info("the passphrase was changed")
	return nil
}
