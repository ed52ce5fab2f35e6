package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"slices"

	golog "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/gologshim"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/zap/zapcore"
)

// newLogHandler returns the handler every log line of the daemon goes
// through: text or JSON on w, at level and above.
func newLogHandler(w io.Writer, s settings) slog.Handler {
	opts := &slog.HandlerOptions{Level: s.logLevel}
	if s.logFormat == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// libp2pLogLevel is the least severe level of go-libp2p's own logs that
// reaches the daemon's log: warnings and errors, unless the daemon logs at
// debug level, when everything does. go-libp2p's info logs are about its
// internals, not about Hearth, and would drown the daemon's own lines.
func libp2pLogLevel(s settings) slog.Level {
	if s.logLevel <= slog.LevelDebug {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// routeLibp2pLogs sends the networking libraries' internal logs into h:
// go-libp2p's (its subsystems log through gologshim's process-wide handler,
// which would otherwise print JSON to stderr on its own), filtered at
// libp2pLogLevel, and the Kademlia DHT's (it logs through go-log, which
// would otherwise print to stderr in a format of its own), at go-log's own
// level of errors, or everything at debug. Unless the daemon logs at debug
// level, peer addresses and peer IDs in those lines are redacted
// (addrRedactingHandler): go-libp2p's warnings name the remote address of
// the connection they are about.
//
// gologshim binds each of its loggers to the handler set here on that
// logger's first line, so this must run before the node starts. It sets
// process-wide state, which is why only the binary calls it and the node
// library does not.
func routeLibp2pLogs(h slog.Handler, s settings) {
	lib := h.WithAttrs([]slog.Attr{slog.String("system", "libp2p")})
	if s.logLevel > slog.LevelDebug {
		lib = addrRedactingHandler{next: lib}
	}
	gologshim.SetDefaultHandler(minLevelHandler{next: lib, min: libp2pLogLevel(s)})
	// go-log's setup sets the level of its loggers, those made so far and
	// those to come, and an output of its own, which the core below then
	// replaces: no output of go-log's own is opened.
	level := golog.LevelError
	if s.logLevel <= slog.LevelDebug {
		level = golog.LevelDebug
	}
	golog.SetupLogging(golog.Config{Level: level})
	golog.SetPrimaryCore(slogCore{h: lib})
}

// minLevelHandler passes on records at min and above to next, which may
// filter further by its own level.
type minLevelHandler struct {
	next slog.Handler
	min  slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.next.Enabled(ctx, l)
}

func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevelHandler{next: h.next.WithAttrs(as), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{next: h.next.WithGroup(name), min: h.min}
}

// addrRedactingHandler passes records on to next with peer addresses and
// peer IDs replaced: attribute values that are multiaddrs, network
// addresses, IP addresses or peer IDs, and, in the message and in every
// other attribute's text (errors included: a dial error lists every address
// tried), whatever looks like a multiaddr, an IP address with or without a
// port, or a peer ID. An IP address says where a member lives and works,
// and logs end up in bug reports; the node's own lines leave them out
// unless debug logging is on, and this holds the libraries' lines to the
// same rule.
type addrRedactingHandler struct {
	next slog.Handler
}

func (h addrRedactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h addrRedactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redactAddrText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAddrAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h addrRedactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAddrAttr(a)
	}
	return addrRedactingHandler{next: h.next.WithAttrs(red)}
}

func (h addrRedactingHandler) WithGroup(name string) slog.Handler {
	return addrRedactingHandler{next: h.next.WithGroup(name)}
}

// Replacements of what addrRedactingHandler redacts.
const (
	redactedAddr = "[address redacted]"
	redactedPeer = "[peer redacted]"
)

// Patterns of addresses and peer IDs inside text.
var (
	// multiaddrText is a multiaddr starting with an IP or DNS component,
	// up to the next space, quote, comma or closing bracket.
	multiaddrText = regexp.MustCompile(`/(?:ip4|ip6|ip6zone|dns|dns4|dns6|dnsaddr)/[^\s"',\]\})]+`)
	// ipv4Text is a dotted-quad IPv4 address with an optional port.
	ipv4Text = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b`)
	// ipv6Text is a bracketed IPv6 address (as Go's net errors print one),
	// with an optional zone and port.
	ipv6Text = regexp.MustCompile(`\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[^\]]*)?\](?::\d+)?`)
	// peerIDText is a peer ID in base58: Ed25519 keys (12D3KooW...) and
	// SHA-256 multihashes (Qm...).
	peerIDText = regexp.MustCompile(`\b(?:12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]{40,}\b`)
)

// redactAddrText returns s with every address and peer ID in it replaced.
func redactAddrText(s string) string {
	s = multiaddrText.ReplaceAllString(s, redactedAddr)
	s = ipv6Text.ReplaceAllString(s, redactedAddr)
	s = ipv4Text.ReplaceAllString(s, redactedAddr)
	return peerIDText.ReplaceAllString(s, redactedPeer)
}

// redactAddrAttr returns a with its value redacted (groups at any depth,
// LogValuers resolved first).
func redactAddrAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redactAddrText(v.String()))
	case slog.KindGroup:
		group := v.Group()
		red := make([]slog.Attr, len(group))
		for i, g := range group {
			red[i] = redactAddrAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		return slog.Attr{Key: a.Key, Value: redactAddrValue(v.Any())}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// redactAddrValue redacts an attribute value of any other kind: an address
// or a peer ID whole, anything else by its text when that holds one.
func redactAddrValue(x any) slog.Value {
	switch x.(type) {
	case ma.Multiaddr, []ma.Multiaddr, net.Addr, net.IP, netip.Addr, netip.AddrPort, netip.Prefix,
		peer.AddrInfo, *peer.AddrInfo, []peer.AddrInfo:
		return slog.StringValue(redactedAddr)
	case peer.ID, []peer.ID:
		return slog.StringValue(redactedPeer)
	}
	var text string
	switch x := x.(type) {
	case error:
		text = x.Error()
	case fmt.Stringer:
		text = x.String()
	default:
		text = fmt.Sprint(x)
	}
	if red := redactAddrText(text); red != text {
		return slog.StringValue(red)
	}
	return slog.AnyValue(x)
}

// slogCore is a zap core (go-log's output) that writes into an slog
// handler, so the DHT's lines land in the daemon's log in its format, and
// pass through the same redaction as go-libp2p's.
type slogCore struct {
	h      slog.Handler
	fields []zapcore.Field
}

func (c slogCore) Enabled(l zapcore.Level) bool {
	return c.h.Enabled(context.Background(), slogLevel(l))
}

func (c slogCore) With(fs []zapcore.Field) zapcore.Core {
	return slogCore{h: c.h, fields: append(slices.Clip(c.fields), fs...)}
}

func (c slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c slogCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range append(slices.Clip(c.fields), fs...) {
		f.AddTo(enc)
	}
	r := slog.NewRecord(e.Time, slogLevel(e.Level), e.Message, 0)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", e.LoggerName))
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.AddAttrs(slog.Any(k, enc.Fields[k]))
	}
	return c.h.Handle(context.Background(), r)
}

func (c slogCore) Sync() error { return nil }

// slogLevel maps a zap level to slog's: debug, info, warn, and error for
// error and everything worse (zap's panic and fatal levels are logged
// before go-log panics or exits, not instead).
func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError
}
