package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/hearthnet/hearth/api"
	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/node"
	"github.com/hearthnet/hearth/storage"
)

// shutdownGrace is how long the API and metrics servers wait for requests
// in flight when the daemon stops. The node itself is always closed fully,
// however long that takes: its Close is what makes acknowledged writes
// durable.
const shutdownGrace = 5 * time.Second

// createHome creates the identity, keystore and database of the new home
// in dir, sealed under pass. The caller holds the home's lock and has
// checked that the home is new.
func createHome(e *env, dir string, pass []byte) error {
	err := node.InitHome(dir, pass, e.kdf, nil)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, node.ErrHomeExists):
		return fmt.Errorf("%s is already a Hearth home; start it with 'hearth up'", dir)
	case errors.Is(err, crypto.ErrEmptyPassphrase):
		return errors.New("the passphrase is empty; choose one")
	}
	return fmt.Errorf("cannot create the home in %s: %v", dir, err)
}

// unlockHome opens the keystore of the home in dir with pass.
func unlockHome(dir string, pass []byte) (*crypto.Keystore, error) {
	ks, err := node.UnlockHome(dir, pass)
	if err != nil {
		return nil, unlockError(dir, err)
	}
	return ks, nil
}

// unlockError turns an error of node.UnlockHome for the home in dir into
// one that says what to do.
func unlockError(dir string, err error) error {
	switch {
	case errors.Is(err, crypto.ErrBadPassphrase):
		return fmt.Errorf("the passphrase does not open the home %s; check it and try again", dir)
	case errors.Is(err, crypto.ErrKeystoreCorrupt):
		return fmt.Errorf("the keystore in %s is damaged and cannot be opened; restore the home from a backup", dir)
	case errors.Is(err, crypto.ErrKeystoreVersion):
		return fmt.Errorf("the keystore in %s was written by a newer version of hearth; install that version", dir)
	case errors.Is(err, node.ErrNoHome):
		return fmt.Errorf("%s holds no Hearth home; create one with 'hearth init'", dir)
	}
	return fmt.Errorf("cannot open the home %s: %v", dir, err)
}

// daemon is a running node with its API and, when configured, its metrics.
type daemon struct {
	node    *node.Node
	api     *api.Server
	apiDone chan error
	logger  *slog.Logger
	// stats are the metrics, when --metrics asks for them: made when the
	// API starts (every request is counted), served once the node runs
	// (metrics), fed by the node's events (counter).
	stats   *daemonMetrics
	metrics *metricsServer
	counter *eventCounter
	// bridge carries the node's events to the API's event stream.
	bridge *api.EventBridge
	// wiped records a panic wipe through the API (wipe_daemon.go).
	wiped wipeState
}

// startDaemon starts the node of the unlocked home in dir, then the API on
// s.api, and returns once both serve. The API's token is made afresh at
// every start (a token copied from an earlier run stops working) and its
// address is written to the home for the command-line client.
func startDaemon(ctx context.Context, e *env, logger *slog.Logger, dir string, s settings, ks *crypto.Keystore) (*daemon, error) {
	n, err := startNode(ctx, e, logger, dir, s, ks)
	if err != nil {
		return nil, err
	}
	d := &daemon{node: n, logger: logger}
	routes := api.UnlockRoutes(api.SetupRoutes(nodeAPIRoutes(n, newDaemonWipe(d, dir, ks, logger), &daemonPassphrase{dir: dir, ks: ks, kdf: e.kdf, logger: logger}), nil), nil, nil)
	if err := d.startAPI(dir, s, routes); err != nil {
		d.close()
		return nil, err
	}
	if err := d.startMetrics(s); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// nodeAPIRoutes are the API routes that drive n, with w as the panic
// wipe and p as the passphrase change through the API (both nil: the
// table of routes held back until setup or unlock).
func nodeAPIRoutes(n *node.Node, w *daemonWipe, p *daemonPassphrase) []api.Route {
	opts := wipeOptions(api.NodeOptions{Version: hearthVersion}, w)
	if p != nil {
		opts.Passphrase = p.change
	}
	return api.NodeRoutes(n, opts)
}

// startNode starts the node of the unlocked home in dir, with the network
// settings of s.
func startNode(ctx context.Context, e *env, logger *slog.Logger, dir string, s settings, ks *crypto.Keystore) (*node.Node, error) {
	n, err := node.New(ctx, node.Config{
		DataDir:         dir,
		Keystore:        ks,
		ListenAddrs:     s.listen,
		Logger:          logger,
		Now:             e.now,
		Discovery:       s.discovery(),
		CrisisResources: s.crisisResources,
		CrisisRegion:    s.crisisRegion,
		Mailbox:         node.MailboxConfig{Enabled: s.mailbox},
	})
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, errors.New("stopped while starting; nothing was lost")
		case errors.Is(err, storage.ErrLocked):
			return nil, fmt.Errorf("the database in %s is in use by another process; stop it first", dir)
		case errors.Is(err, storage.ErrWrongKey):
			return nil, fmt.Errorf("the keystore in %s does not open its database; restore the home from a backup", dir)
		}
		return nil, fmt.Errorf("cannot start the node: %v", err)
	}
	return n, nil
}

// startMetrics serves the node's metrics when s asks for them: the API's
// (counted since the API started), the node's gauges, and the counts of
// the node's events from now on.
func (d *daemon) startMetrics(s settings) error {
	if s.metrics == "" || d.stats == nil {
		return nil
	}
	n := d.node
	m, err := startMetrics(s.metrics, d.stats, d.logger)
	if err != nil {
		return err
	}
	d.stats.addNodeGauges(nodeGauges{
		connectedPeers: func() int { return len(n.ConnectedPeers()) },
		groups:         func() int { return len(n.Groups()) },
	})
	d.counter = d.stats.countEvents(n)
	d.metrics = m
	d.logger.Info("serving metrics", "addr", "http://"+m.addr+"/metrics")
	return nil
}

// startAPI serves routes and the web UI on s.api. Without a node yet (a
// new home set up in the browser, or a home unlocked there) there are no
// node events to bridge.
func (d *daemon) startAPI(dir string, s settings, routes []api.Route) error {
	ln, err := net.Listen("tcp", s.api)
	if err != nil {
		return fmt.Errorf("cannot serve the API on %s: %v; stop the program using it or choose another address with --api", s.api, opErr(err))
	}
	addr := ln.Addr().String()
	token, err := api.WriteToken(dir)
	if err != nil {
		ln.Close()
		return fmt.Errorf("cannot write the API token in %s: %v", dir, err)
	}
	cfg := api.Config{
		Token:       token,
		Logger:      d.logger,
		Addr:        addr,
		Version:     hearthVersion,
		AllowRemote: s.apiAllowRemote,
		Routes:      append(routes, api.WebRoutes()...),
	}
	if s.metrics != "" {
		if d.stats == nil {
			d.stats = newDaemonMetrics()
		}
		cfg.Observe = d.stats.observeRequest
	}
	srv, err := api.NewServer(cfg)
	if err != nil {
		ln.Close()
		return fmt.Errorf("cannot start the API: %v", err)
	}
	if err := api.WriteAddr(dir, addr); err != nil {
		ln.Close()
		return fmt.Errorf("cannot record the API address in %s: %v", dir, err)
	}
	d.api = srv
	if d.node != nil {
		d.bridge = api.BridgeEvents(d.node, srv.Events(), d.logger)
	}
	d.apiDone = make(chan error, 1)
	go func() { d.apiDone <- srv.Serve(ln) }()
	d.logger.Info("serving the API and web UI", "addr", "http://"+addr)
	return nil
}

// wait blocks until ctx is cancelled or the API server fails.
func (d *daemon) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		d.logger.Info("shutting down", "reason", context.Cause(ctx))
		return nil
	case <-d.wipedSignal():
		return nil
	case err := <-d.apiDone:
		d.apiDone = nil
		if err == nil {
			err = errors.New("the API server stopped")
		}
		return fmt.Errorf("the API server failed: %v", err)
	}
}

// close stops the API and metrics servers, then closes the node, which
// leaves its topics and flushes and closes the store. It returns once all
// of that is done.
func (d *daemon) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	if d.bridge != nil {
		d.bridge.Stop()
	}
	if d.api != nil {
		if err := d.api.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping the API: %v", err))
		}
		if d.apiDone != nil {
			if err := <-d.apiDone; err != nil {
				errs = append(errs, fmt.Errorf("the API server: %v", err))
			}
		}
	}
	if d.metrics != nil {
		if err := d.metrics.shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping metrics: %v", err))
		}
	}
	if d.counter != nil {
		d.counter.stop()
	}
	if d.node != nil {
		if err := d.node.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the node: %v", err))
		}
	}
	return oneLine(errs...)
}

// listenAddrs returns the node's listen addresses without the /p2p/ part,
// for the log: the peer ID is logged at debug level only, as the node does.
func listenAddrs(n *node.Node) string {
	var out []string
	for _, a := range n.Addrs() {
		s := a.String()
		if i := strings.Index(s, "/p2p/"); i >= 0 {
			s = s[:i]
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}
