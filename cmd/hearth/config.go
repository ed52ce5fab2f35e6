package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/hearthnet/hearth/node"
)

// configFileName is the daemon's configuration file inside the home.
const configFileName = "config.toml"

// maxConfigFile bounds how much of config.toml is read: the file holds a
// handful of short keys, and a larger one is a mistake.
const maxConfigFile = 1 << 20

// Defaults for `hearth up`. docs/CONFIG.md repeats them; keep both in step.
const (
	defaultListenTCP  = "/ip4/0.0.0.0/tcp/4747"
	defaultListenQUIC = "/ip4/0.0.0.0/udp/4747/quic-v1"
	defaultAPI        = "127.0.0.1:4748"
	defaultLogFormat  = "text"
)

// settings is the daemon's configuration once every source is applied:
// built-in defaults, then config.toml in the home, then environment
// variables, then flags, each overriding the ones before it for the keys it
// sets. Every value in it has been validated.
type settings struct {
	listen []string
	// listenSet says listen was set by a source, not left at its default
	// (which relay-only mode changes; see derive).
	listenSet      bool
	api            string
	apiAllowRemote bool
	logLevel       slog.Level
	logFormat      string // "text" or "json"
	metrics        string // "" when metrics are off

	// Discovery and reachability (node.DiscoveryConfig).
	bootstrap    []string
	dhtServer    bool
	mdns         bool
	relays       []string
	relayOnly    bool
	relayService bool
	relayFor     []string

	// mailbox runs the node as a mailbox (node.Config.Mailbox).
	mailbox bool

	// Crisis resources shown with every SOS (node.Config.CrisisResources,
	// CrisisRegion); checked by node.NewCrisisDirectory.
	crisisRegion    string
	crisisResources []node.CrisisResource

	// apiFrom names where api was last set, so the check that ties it
	// to apiAllowRemote can point at the right place.
	apiFrom string
}

func defaultSettings() settings {
	return settings{
		listen:    []string{defaultListenTCP, defaultListenQUIC},
		api:       defaultAPI,
		logLevel:  slog.LevelInfo,
		logFormat: defaultLogFormat,
		apiFrom:   "the default",
	}
}

// fileConfig is the schema of config.toml. Every key is optional: a nil
// field leaves the setting as it was. Pointers tell an absent key from an
// empty one, which matters for listen: `listen = []` means listen nowhere.
type fileConfig struct {
	Listen         *[]string `toml:"listen"`
	API            *string   `toml:"api"`
	APIAllowRemote *bool     `toml:"api_allow_remote"`
	LogLevel       *string   `toml:"log_level"`
	LogFormat      *string   `toml:"log_format"`
	Metrics        *string   `toml:"metrics"`
	Mailbox        *bool     `toml:"mailbox"`

	Discovery *fileDiscovery `toml:"discovery"`
	Relays    *fileRelays    `toml:"relays"`

	CrisisRegion    *string                `toml:"crisis_region"`
	CrisisResources *[]node.CrisisResource `toml:"crisis_resources"`
}

// fileDiscovery is the [discovery] table of config.toml.
type fileDiscovery struct {
	Bootstrap *[]string `toml:"bootstrap"`
	DHTServer *bool     `toml:"dht_server"`
	MDNS      *bool     `toml:"mdns"`
}

// fileRelays is the [relays] table of config.toml.
type fileRelays struct {
	Static  *[]string `toml:"static"`
	Only    *bool     `toml:"only"`
	Service *bool     `toml:"service"`
	For     *[]string `toml:"for"`
}

// applyConfigFile applies config.toml from the home in dir to s. A missing
// file changes nothing. Any error names the file, and where it can the line
// and the key.
func applyConfigFile(s *settings, dir string) error {
	path := filepath.Join(dir, configFileName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", path, osErr(err))
	}
	defer f.Close()
	doc, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", path, osErr(err))
	}
	if len(doc) > maxConfigFile {
		return usagef("%s is larger than %d KiB; it should hold a few keys (see docs/CONFIG.md)", path, maxConfigFile>>10)
	}
	return applyConfig(s, path, doc)
}

// applyConfig decodes doc, the contents of the config file at path, and
// applies it to s. Decoding is strict: a key hearth does not know is an
// error, not silently ignored, so a misspelt key (or one from a later
// version) never leaves a person believing a setting took effect when it
// did not.
func applyConfig(s *settings, path string, doc []byte) error {
	var fc fileConfig
	err := toml.NewDecoder(bytes.NewReader(doc)).DisallowUnknownFields().Decode(&fc)
	if err != nil {
		return configDecodeError(path, err)
	}
	lines := keyLines(doc)
	where := func(key string) string {
		if l, ok := lines[key]; ok {
			return fmt.Sprintf("%s, line %d, key %q", path, l, key)
		}
		return fmt.Sprintf("%s, key %q", path, key)
	}
	if fc.Listen != nil {
		if err := s.setListen(*fc.Listen, where("listen")); err != nil {
			return err
		}
	}
	if fc.API != nil {
		if err := s.setAPI(*fc.API, where("api")); err != nil {
			return err
		}
	}
	if fc.APIAllowRemote != nil {
		s.apiAllowRemote = *fc.APIAllowRemote
	}
	if fc.Mailbox != nil {
		s.mailbox = *fc.Mailbox
	}
	if fc.LogLevel != nil {
		if err := s.setLogLevel(*fc.LogLevel, where("log_level")); err != nil {
			return err
		}
	}
	if fc.LogFormat != nil {
		if err := s.setLogFormat(*fc.LogFormat, where("log_format")); err != nil {
			return err
		}
	}
	if fc.Metrics != nil {
		if err := s.setMetrics(*fc.Metrics, where("metrics")); err != nil {
			return err
		}
	}
	if d := fc.Discovery; d != nil {
		if d.Bootstrap != nil {
			if err := s.setBootstrap(*d.Bootstrap, where("discovery.bootstrap")); err != nil {
				return err
			}
		}
		if d.DHTServer != nil {
			s.dhtServer = *d.DHTServer
		}
		if d.MDNS != nil {
			s.mdns = *d.MDNS
		}
	}
	if r := fc.Relays; r != nil {
		if r.Static != nil {
			if err := s.setRelays(*r.Static, where("relays.static")); err != nil {
				return err
			}
		}
		if r.Only != nil {
			s.relayOnly = *r.Only
		}
		if r.Service != nil {
			s.relayService = *r.Service
		}
		if r.For != nil {
			if err := s.setRelayFor(*r.For, where("relays.for")); err != nil {
				return err
			}
		}
	}
	if fc.CrisisRegion != nil || fc.CrisisResources != nil {
		region, list := s.crisisRegion, s.crisisResources
		if fc.CrisisRegion != nil {
			region = *fc.CrisisRegion
		}
		if fc.CrisisResources != nil {
			list = *fc.CrisisResources
		}
		if _, err := node.NewCrisisDirectory(list, region); err != nil {
			key := "crisis_resources"
			if fc.CrisisResources == nil {
				key = "crisis_region"
			}
			return usagef("%s: %s", where(key), strings.TrimPrefix(err.Error(), "node: "))
		}
		s.crisisRegion, s.crisisResources = region, list
	}
	return nil
}

// configDecodeError turns a TOML decoding error into one line naming the
// file, the line and the key.
func configDecodeError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		// Report the first unknown key; fixing it and running again shows
		// the next, and one line is easier to act on than a list.
		de := &strict.Errors[0]
		line, _ := de.Position()
		return usagef("%s, line %d: unknown key %q; this version of hearth does not know it (see docs/CONFIG.md for the keys it does), so remove it or check its spelling",
			path, line, strings.Join(de.Key(), "."))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		// go-toml names Go types ("struct field main.fileConfig.API of
		// type string"), which mean nothing to the person editing the
		// file; say what the key takes instead.
		if k := de.Key(); len(k) > 0 {
			key := strings.Join(k, ".")
			if want := configKeyType(key); want != "" && strings.HasPrefix(msg, "cannot decode") {
				msg = "the value must be " + want
			}
			return usagef("%s, line %d, key %q: %s", path, line, key, msg)
		}
		return usagef("%s, line %d: %s", path, line, msg)
	}
	return usagef("%s: %v", path, err)
}

// configKeyType says what the value of a config.toml key must be, or ""
// for a key config.toml does not have.
func configKeyType(key string) string {
	switch key {
	case "listen":
		return `a list of multiaddr strings, for example ["/ip4/0.0.0.0/tcp/4747"]`
	case "api":
		return `a string "host:port", for example "127.0.0.1:4748"`
	case "api_allow_remote":
		return "true or false"
	case "log_level":
		return `one of the strings "debug", "info", "warn", "error"`
	case "log_format":
		return `"text" or "json"`
	case "metrics":
		return `a string "host:port", for example "127.0.0.1:9464"`
	case "discovery", "relays":
		return "a table, [" + key + "] (see docs/CONFIG.md)"
	case "discovery.bootstrap", "relays.static":
		return `a list of multiaddr strings ending in /p2p/<peer ID>`
	case "relays.for":
		return `a list of peer ID strings, like ["12D3KooW..."]`
	case "discovery.dht_server", "discovery.mdns", "relays.only", "relays.service":
		return "true or false"
	case "crisis_region":
		return `a two-letter country code such as "US" or "GB"`
	case "crisis_resources":
		return `an array of tables, [[crisis_resources]], each with region, name and a phone, sms, url or note (see docs/CONFIG.md)`
	}
	return ""
}

// keyLines returns the line of each top-level key in doc, a document that
// has already decoded without error.
func keyLines(doc []byte) map[string]int {
	lines := make(map[string]int)
	var p unstable.Parser
	p.Reset(doc)
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.KeyValue {
			continue
		}
		it := e.Key()
		if !it.Next() {
			continue
		}
		k := it.Node()
		if it.Next() {
			continue // a dotted key: not one of ours
		}
		if _, seen := lines[string(k.Data)]; !seen {
			lines[string(k.Data)] = p.Shape(k.Raw).Start.Line
		}
	}
	return lines
}

// applyEnv applies the HEARTH_* environment variables to s.
func applyEnv(s *settings, getenv func(string) string) error {
	if v := getenv("HEARTH_LISTEN"); v != "" {
		var addrs []string
		for a := range strings.SplitSeq(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		if err := s.setListen(addrs, "HEARTH_LISTEN"); err != nil {
			return err
		}
	}
	if v := getenv("HEARTH_API"); v != "" {
		if err := s.setAPI(v, "HEARTH_API"); err != nil {
			return err
		}
	}
	if v := getenv("HEARTH_API_ALLOW_REMOTE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return usagef("HEARTH_API_ALLOW_REMOTE: %q is not true or false", v)
		}
		s.apiAllowRemote = b
	}
	if v := getenv("HEARTH_LOG_LEVEL"); v != "" {
		if err := s.setLogLevel(v, "HEARTH_LOG_LEVEL"); err != nil {
			return err
		}
	}
	if v := getenv("HEARTH_LOG_FORMAT"); v != "" {
		if err := s.setLogFormat(v, "HEARTH_LOG_FORMAT"); err != nil {
			return err
		}
	}
	if v := getenv("HEARTH_METRICS"); v != "" {
		if err := s.setMetrics(v, "HEARTH_METRICS"); err != nil {
			return err
		}
	}
	if v := getenv("HEARTH_BOOTSTRAP"); v != "" {
		if err := s.setBootstrap(splitList(v), "HEARTH_BOOTSTRAP"); err != nil {
			return err
		}
	}
	if v := getenv("HEARTH_RELAYS"); v != "" {
		if err := s.setRelays(splitList(v), "HEARTH_RELAYS"); err != nil {
			return err
		}
	}
	if v := getenv("HEARTH_RELAY_FOR"); v != "" {
		if err := s.setRelayFor(splitList(v), "HEARTH_RELAY_FOR"); err != nil {
			return err
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{"HEARTH_DHT_SERVER", &s.dhtServer},
		{"HEARTH_MDNS", &s.mdns},
		{"HEARTH_RELAY_ONLY", &s.relayOnly},
		{"HEARTH_RELAY_SERVICE", &s.relayService},
		{"HEARTH_MAILBOX", &s.mailbox},
	} {
		if v := getenv(b.name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return usagef("%s: %q is not true or false", b.name, v)
			}
			*b.dst = x
		}
	}
	return nil
}

// splitList splits a comma-separated environment variable, dropping empty
// items.
func splitList(v string) []string {
	var out []string
	for a := range strings.SplitSeq(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// derive sets what depends on other settings, once every source is
// applied: in relay-only mode the node listens nowhere unless listen was
// set. A relay-only node is reached only through its relays, over
// connections it opens itself, so a listening socket would only show the
// world that something is there.
func (s *settings) derive() {
	if s.relayOnly && !s.listenSet {
		s.listen = nil
	}
}

// check validates what no single setter can: the API may listen beyond
// loopback only when remote access is explicitly allowed; relay-only mode
// needs relays, excludes mDNS and the relay service, and listens on TCP
// only (an unset listen means nowhere there; see derive); peers to relay
// for need the relay service.
func (s *settings) check() error {
	if !isLoopbackHostPort(s.api) && !s.apiAllowRemote {
		return usagef("%s: %q is not a loopback address, so the API (which controls your node) would be reachable from other machines; use 127.0.0.1, or add --api-allow-remote if you really mean it (see docs/CONFIG.md)",
			s.apiFrom, s.api)
	}
	if s.relayOnly {
		switch {
		case len(s.relays) == 0:
			return usagef("relay-only mode needs at least one relay (relays.static, HEARTH_RELAYS or --relay); without one the node could reach nobody")
		case s.mdns:
			return usagef("relay-only mode and mDNS cannot be on together: mDNS tells the whole local network this node's addresses")
		case s.relayService:
			return usagef("relay-only mode and the relay service cannot be on together: a relay must be reachable at its own address")
		}
		for _, a := range s.listen {
			if s.listenSet && strings.Contains(a, "/quic-v1") {
				return usagef("relay-only mode cannot listen on QUIC (%s): the QUIC handshake would prove to anyone who dials that address that your node is there; listen on TCP only, or leave listen unset to listen nowhere", a)
			}
		}
	}
	if len(s.relayFor) > 0 && !s.relayService {
		return usagef("relays.for names peers to relay for, but the relay service is off; turn on relays.service (--relay-service) or remove relays.for")
	}
	return nil
}

// discovery returns the node's discovery config.
func (s *settings) discovery() node.DiscoveryConfig {
	return node.DiscoveryConfig{
		BootstrapPeers: slices.Clone(s.bootstrap),
		DHTServer:      s.dhtServer,
		MDNS:           s.mdns,
		StaticRelays:   slices.Clone(s.relays),
		RelayOnly:      s.relayOnly,
		RelayService:   s.relayService,
		RelayFor:       slices.Clone(s.relayFor),
	}
}

func (s *settings) setBootstrap(addrs []string, from string) error {
	if err := checkPeerAddrs(addrs); err != nil {
		return usagef("%s: %v", from, err)
	}
	s.bootstrap = slices.Clone(addrs)
	return nil
}

func (s *settings) setRelays(addrs []string, from string) error {
	if err := checkPeerAddrs(addrs); err != nil {
		return usagef("%s: %v", from, err)
	}
	s.relays = slices.Clone(addrs)
	return nil
}

// setRelayFor sets the peers the relay service serves besides members.
func (s *settings) setRelayFor(ids []string, from string) error {
	for _, id := range ids {
		if _, err := peer.Decode(id); err != nil {
			return usagef("%s: %q is not a peer ID (%v); use the ID 'hearth' prints for a node, like 12D3KooW...", from, id, err)
		}
	}
	s.relayFor = slices.Clone(ids)
	return nil
}

// checkPeerAddrs accepts multiaddrs of another node: a transport address
// ending in /p2p/<peer ID>, the form `hearth` prints for a node and invites
// carry.
func checkPeerAddrs(addrs []string) error {
	for _, a := range addrs {
		if _, err := peer.AddrInfoFromString(a); err != nil {
			return fmt.Errorf("%q is not a node's address ending in /p2p/<peer ID> (%v), like /ip4/203.0.113.7/tcp/4747/p2p/12D3KooW...", a, err)
		}
	}
	return nil
}

func (s *settings) setListen(addrs []string, from string) error {
	for _, a := range addrs {
		if err := checkListenAddr(a); err != nil {
			return usagef("%s: %v", from, err)
		}
	}
	s.listen = append([]string(nil), addrs...)
	s.listenSet = true
	return nil
}

func (s *settings) setAPI(v, from string) error {
	if err := checkHostPort(v); err != nil {
		return usagef("%s: %v", from, err)
	}
	s.api, s.apiFrom = v, from
	return nil
}

func (s *settings) setLogLevel(v, from string) error {
	l, err := parseLogLevel(v)
	if err != nil {
		return usagef("%s: %v", from, err)
	}
	s.logLevel = l
	return nil
}

func (s *settings) setLogFormat(v, from string) error {
	if v != "text" && v != "json" {
		return usagef("%s: log format %q is neither text nor json", from, v)
	}
	s.logFormat = v
	return nil
}

// setMetrics sets the address of the metrics listener; "" turns it off.
//
// Metrics are loopback only, with no override: they show when the node is
// busy and how many peers it has, which over time says when a member
// meets with their group. A remote collector can reach them through an SSH
// tunnel or an agent on the machine.
func (s *settings) setMetrics(v, from string) error {
	if v == "" {
		s.metrics = ""
		return nil
	}
	if err := checkHostPort(v); err != nil {
		return usagef("%s: %v", from, err)
	}
	if !isLoopbackHostPort(v) {
		return usagef("%s: metrics address %q is not a loopback address; metrics are served on 127.0.0.1 or [::1] only", from, v)
	}
	s.metrics = v
	return nil
}

// parseLogLevel accepts debug, info, warn (or warning) and error.
func parseLogLevel(v string) (slog.Level, error) {
	switch strings.ToLower(v) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q is not one of debug, info, warn, error", v)
}

// checkListenAddr accepts the multiaddrs the node can listen on: an IPv4 or
// IPv6 address followed by /tcp/PORT, or by /udp/PORT/quic-v1.
func checkListenAddr(a string) error {
	m, err := ma.NewMultiaddr(a)
	if err != nil {
		return fmt.Errorf("%q is not a multiaddr (%v); use one like %s or %s", a, err, defaultListenTCP, defaultListenQUIC)
	}
	var names []string
	for _, c := range m {
		names = append(names, c.Protocol().Name)
	}
	shape := strings.Join(names, "/")
	switch shape {
	case "ip4/tcp", "ip6/tcp", "ip4/udp/quic-v1", "ip6/udp/quic-v1":
		return nil
	}
	return fmt.Errorf("cannot listen on %q: hearth listens on TCP (like %s) or QUIC (like %s) addresses only", a, defaultListenTCP, defaultListenQUIC)
}

// checkHostPort accepts "host:port" where host is an IP address and port
// is 0 to 65535 (0 picks a free port). Host names, localhost included, are
// refused: what they resolve to can change under the daemon (an /etc/hosts
// entry, a resolver), and whether an address is loopback must be decided
// on the address the daemon actually binds.
func checkHostPort(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port, for example 127.0.0.1:4748", v)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", v, port)
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("%q: %q is not an IP address; give one, like 127.0.0.1 or [::1]", v, host)
	}
	return nil
}

// isLoopbackHostPort reports whether v, already accepted by checkHostPort,
// is on a loopback address.
func isLoopbackHostPort(v string) bool {
	host, _, err := net.SplitHostPort(v)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
