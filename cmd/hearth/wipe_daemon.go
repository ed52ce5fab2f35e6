package main

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
)

// The panic wipe through the running daemon: the web UI's wipe button
// reaches POST /api/v1/wipe (api/routes_wipe.go), whose WipeFunc is
// daemonWipe.wipe; so does `hearth wipe` when it finds the home locked by
// a running daemon (cli_private.go), because the daemon holds the store and
// the keystore open and only it can let go of them. It closes them, then
// destroys the home exactly as `hearth wipe` does without a daemon
// (node.WipeHome: the store's keys and the keystore file first, then the
// files), and stops.

// daemonWipe wipes the home of a running daemon.
type daemonWipe struct {
	d      *daemon
	dir    string
	logger *slog.Logger
	ks     *crypto.Keystore
}

// newDaemonWipe returns the wipe of the home in dir, whose node d runs
// and whose keystore is ks.
func newDaemonWipe(d *daemon, dir string, ks *crypto.Keystore, logger *slog.Logger) *daemonWipe {
	return &daemonWipe{d: d, dir: dir, logger: logger, ks: ks}
}

// wipe is the api.WipeFunc. It closes the node (the store must be closed
// before its keys can be destroyed, and nothing may write to it after),
// wipes the keys the process holds in memory, then destroys the home with
// node.WipeHome. Only the outcome is logged: never the keys, and the home's
// path only as the daemon already logged it at start.
func (w *daemonWipe) wipe() error {
	w.logger.Warn("wiping this home, as asked from the web UI: keys first, then the files")
	if w.d.bridge != nil {
		w.d.bridge.Stop()
	}
	if w.d.node != nil {
		if err := w.d.node.Close(); err != nil {
			// The store may not have flushed; it is about to be destroyed
			// anyway, and WipeHome refuses if it is still open.
			w.logger.Warn("closing the node before the wipe", "err", err)
		}
	}
	w.ks.Close()
	if err := node.WipeHome(w.dir); err != nil {
		w.logger.Error("the wipe did not finish; run 'hearth wipe' to finish it", "err", err)
		return err
	}
	w.d.wiped.ok.Store(true)
	w.logger.Info("wiped: the keys were destroyed, then the home was deleted")
	return nil
}

// finish is called once the wipe's answer is sent: the daemon stops.
func (w *daemonWipe) finish() { w.d.signalWiped() }

// wipeOptions sets the node routes' wipe to w (nil: no wipe, for the table
// of routes held back during setup).
func wipeOptions(opts api.NodeOptions, w *daemonWipe) api.NodeOptions {
	if w != nil {
		opts.Wipe, opts.Wiped = w.wipe, w.finish
	}
	return opts
}

// wipeState is the daemon's record of a wipe through the API.
type wipeState struct {
	once  sync.Once
	ch    chan struct{}
	fired sync.Once
	// ok is set once the wipe finished: the home is gone.
	ok atomic.Bool
}

// wipedSignal returns the channel closed when the daemon's home was
// wiped through the API; wait returns then.
func (d *daemon) wipedSignal() <-chan struct{} {
	d.wiped.once.Do(func() { d.wiped.ch = make(chan struct{}) })
	return d.wiped.ch
}

// signalWiped closes the channel of wipedSignal.
func (d *daemon) signalWiped() {
	d.wipedSignal()
	d.wiped.fired.Do(func() { close(d.wiped.ch) })
}

// wasWiped reports whether the home was wiped through the API.
func (d *daemon) wasWiped() bool { return d.wiped.ok.Load() }
