package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// cmdFlags holds the flags of `hearth init` and `hearth up` once parsed.
// init takes only home and passphraseFile.
type cmdFlags struct {
	home           string
	passphraseFile string
	setupInBrowser bool

	listen         listFlag
	api            string
	apiAllowRemote bool
	logLevel       string
	logFormat      string
	metrics        string

	bootstrap    listFlag
	dhtServer    bool
	mdns         bool
	relays       listFlag
	relayOnly    bool
	relayService bool
	relayFor     listFlag
	mailbox      bool

	// set holds the names of the flags given on the command line, so that
	// only those override config.toml and the environment.
	set map[string]bool
}

// listFlag is a flag that may be given several times; each adds a value.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// newFlagSet returns the flag set of the command name ("init" or "up")
// writing into f, or nil for a command that takes no flags.
func newFlagSet(name string, f *cmdFlags) *flag.FlagSet {
	if name != "init" && name != "up" {
		return nil
	}
	fs := flag.NewFlagSet("hearth "+name, flag.ContinueOnError)
	fs.StringVar(&f.home, "home", "", "the home `DIR` (default $HEARTH_HOME, else $XDG_DATA_HOME/hearth, else ~/.local/share/hearth)")
	fs.StringVar(&f.passphraseFile, "passphrase-file", "", "read the passphrase from the first line of `FILE` instead of asking (default $HEARTH_PASSPHRASE_FILE)")
	if name == "up" {
		fs.BoolVar(&f.setupInBrowser, "setup-in-browser", false, "take the passphrase in the web UI instead of at the terminal: choose it there for a new home, type it there to unlock one (the default when there is no terminal and no passphrase file)")
		fs.Var(&f.listen, "listen", "listen for peers on `MULTIADDR`; repeat for several (default "+defaultListenTCP+" and "+defaultListenQUIC+"; with --relay-only, nowhere)")
		fs.StringVar(&f.api, "api", "", "serve the API and web UI on `ADDR` (default "+defaultAPI+")")
		fs.BoolVar(&f.apiAllowRemote, "api-allow-remote", false, "allow --api to be an address other than loopback")
		fs.StringVar(&f.logLevel, "log-level", "", "log `LEVEL`: debug, info, warn or error (default info)")
		fs.StringVar(&f.logFormat, "log-format", "", "log `FORMAT`: text or json (default text)")
		fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on the loopback `ADDR` (default off)")
		fs.Var(&f.bootstrap, "bootstrap", "join Hearth's DHT through the node at `MULTIADDR` (ending in /p2p/<peer ID>); repeat for several (default none: no DHT)")
		fs.BoolVar(&f.dhtServer, "dht-server", false, "answer DHT queries for others (only on a node others can reach)")
		fs.BoolVar(&f.mdns, "mdns", false, "announce this node on the local network and find Hearth nodes there (default off: it tells everyone on the network)")
		fs.Var(&f.relays, "relay", "reach and be reached through the circuit relay at `MULTIADDR` (ending in /p2p/<peer ID>); repeat for several")
		fs.BoolVar(&f.relayOnly, "relay-only", false, "connect only through the --relay relays, so other members never see this node's IP address")
		fs.BoolVar(&f.relayService, "relay-service", false, "be a relay (and DHT server) for the members of this node's groups who cannot be reached directly; for a reachable server")
		fs.Var(&f.relayFor, "relay-for", "with --relay-service, also relay for the node with `PEERID`, though it shares no group with this one; repeat for several")
		fs.BoolVar(&f.mailbox, "mailbox", false, "be a mailbox: keep, unread, the envelopes of the groups whose hosts name this node (see 'hearth mailbox info'); for an always-on machine")
	}
	return fs
}

// commandFlags returns the flag set of the command name for `hearth help`,
// or nil when it takes no flags.
func commandFlags(name string) *flag.FlagSet {
	return newFlagSet(name, &cmdFlags{})
}

// errHelp is returned by parseFlags when the person asked for help with
// -h or --help; the command prints its help and succeeds.
var errHelp = errors.New("help requested")

// parseFlags parses the arguments of the command name. Errors are usage
// errors of one line; flag's own multi-line usage output is suppressed.
func parseFlags(name string, args []string) (*cmdFlags, error) {
	f := &cmdFlags{set: make(map[string]bool)}
	fs := newFlagSet(name, f)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, usagef("%v; run 'hearth help %s' to see the flags", err, name)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q; 'hearth %s' takes only flags (run 'hearth help %s')", fs.Arg(0), name, name)
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.set["home"] && f.home == "" {
		return nil, usagef("--home needs a directory")
	}
	if f.set["passphrase-file"] && f.passphraseFile == "" {
		return nil, usagef("--passphrase-file needs a file name")
	}
	return f, nil
}

// applyFlags applies the flags given on the command line to s.
func applyFlags(s *settings, f *cmdFlags) error {
	if f.set["listen"] {
		if err := s.setListen(f.listen, "--listen"); err != nil {
			return err
		}
	}
	if f.set["api"] {
		if err := s.setAPI(f.api, "--api"); err != nil {
			return err
		}
	}
	if f.set["api-allow-remote"] {
		s.apiAllowRemote = f.apiAllowRemote
	}
	if f.set["log-level"] {
		if err := s.setLogLevel(f.logLevel, "--log-level"); err != nil {
			return err
		}
	}
	if f.set["log-format"] {
		if err := s.setLogFormat(f.logFormat, "--log-format"); err != nil {
			return err
		}
	}
	if f.set["metrics"] {
		if err := s.setMetrics(f.metrics, "--metrics"); err != nil {
			return err
		}
	}
	if f.set["bootstrap"] {
		if err := s.setBootstrap(f.bootstrap, "--bootstrap"); err != nil {
			return err
		}
	}
	if f.set["relay"] {
		if err := s.setRelays(f.relays, "--relay"); err != nil {
			return err
		}
	}
	if f.set["dht-server"] {
		s.dhtServer = f.dhtServer
	}
	if f.set["mdns"] {
		s.mdns = f.mdns
	}
	if f.set["relay-only"] {
		s.relayOnly = f.relayOnly
	}
	if f.set["relay-service"] {
		s.relayService = f.relayService
	}
	if f.set["relay-for"] {
		if err := s.setRelayFor(f.relayFor, "--relay-for"); err != nil {
			return err
		}
	}
	if f.set["mailbox"] {
		s.mailbox = f.mailbox
	}
	return nil
}

// resolveSettings builds the daemon's settings for the home in dir:
// defaults, then config.toml, then the environment, then the flags.
func resolveSettings(e *env, dir string, f *cmdFlags) (settings, error) {
	s := defaultSettings()
	if err := applyConfigFile(&s, dir); err != nil {
		return settings{}, err
	}
	if err := applyEnv(&s, e.getenv); err != nil {
		return settings{}, err
	}
	if err := applyFlags(&s, f); err != nil {
		return settings{}, err
	}
	s.derive()
	if err := s.check(); err != nil {
		return settings{}, err
	}
	return s, nil
}

// printCommandHelp prints the summary and flags of the command name.
func printCommandHelp(w io.Writer, name string) {
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		fmt.Fprintf(w, "hearth %s: %s\n", c.name, c.summary)
		if fs := commandFlags(c.name); fs != nil {
			fmt.Fprintf(w, "\nUsage: hearth %s [flags]\n\nFlags:\n", c.name)
			fs.SetOutput(w)
			fs.PrintDefaults()
		}
	}
}
