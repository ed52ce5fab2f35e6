package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
)

// This file is Hearth's gossipsub: the router configuration that hides who
// sent a message, and groupTopic, the handle through which a group's engine
// validates, receives and publishes envelopes on one topic.
//
// Sender hiding takes three options together (FIELD-NOTES.md):
// StrictNoSign (no libp2p signature, and any message carrying one is
// rejected and its forwarder penalised), WithNoAuthor (no From field and no
// sequence number, which would otherwise be the node's clock in nanoseconds
// and link all its messages), and a message ID computed from the payload
// alone. The author's identity and signature live inside the envelope's
// ciphertext, where only members can see them.

// maxEnvelopeSize is the largest gossipsub payload Hearth sends or accepts:
// the largest envelope (65609 bytes: header 57, largest padding bucket
// 65536, tag 16). Anything longer is not an envelope and is rejected before
// the group engine sees it.
const maxEnvelopeSize = crypto.MaxEnvelopeSize

// rpcOverhead is the room allowed on top of one envelope for the protobuf
// framing of a gossipsub RPC that carries it: the RPC and Message field
// tags and lengths (under 10 bytes) and the topic name (Hearth's are 42
// bytes), rounded up generously. Senders split RPCs to stay under the
// limit, so control messages never need more room than this.
const rpcOverhead = 1024

// maxRPCSize is the largest gossipsub RPC frame the node reads or writes.
// A peer that sends a longer frame has its stream reset before the frame
// is parsed.
const maxRPCSize = maxEnvelopeSize + rpcOverhead

// seenMessagesTTL is how long a message ID is remembered, so that a copy
// arriving from a second peer (or replayed) within that time is dropped
// without validation. Replays after it are the group engine's to catch
// (the envelope's sender generation was already consumed).
const seenMessagesTTL = 2 * time.Minute

// Validation pipeline sizes. Hearth's validators run inline (they decrypt
// and verify one envelope, which is CPU-bound and takes well under a
// millisecond), so the workers are what bounds validation CPU.
const (
	// defaultValidateQueue is how many received messages may wait for a
	// validation worker. Beyond it, messages are dropped unvalidated and
	// without penalty to their forwarder (gossipsub cannot know whether
	// they were valid); the mesh or a later sync delivers them again.
	defaultValidateQueue = 256
	// maxValidateWorkers caps the validation workers: a desktop app
	// should leave cores to the rest of the machine.
	maxValidateWorkers = 4
	// validateThrottle bounds concurrent asynchronous validations across
	// all topics. Hearth registers none, so this only caps what a future
	// asynchronous validator could start.
	validateThrottle = 256
)

// pubsubConfig configures newPubSub. The zero value is Hearth's production
// configuration with no hooks.
type pubsubConfig struct {
	// logger receives gossipsub's diagnostics. Nil discards them.
	logger *slog.Logger

	// appScore is the application-specific part of peer scores (P5); nil
	// means 0 for every peer. See hearthScoreParams.
	appScore func(peer.ID) float64

	// validateWorkers, validateQueue: zero means min(NumCPU, 4) and
	// defaultValidateQueue.
	validateWorkers int
	validateQueue   int

	// scoreInspect, if set, is called every scoreInspectPeriod (zero
	// means one second) with a snapshot of every peer's score.
	scoreInspect       pubsub.ExtendedPeerScoreInspectFn
	scoreInspectPeriod time.Duration

	// rpcInspector, if set, sees every RPC received before gossipsub
	// processes it; returning an error drops the RPC.
	rpcInspector func(peer.ID, *pubsub.RPC) error

	// rawTracer, if set, is told of gossipsub's internal events (grafts,
	// deliveries, rejections). It must not block.
	rawTracer pubsub.RawTracer
}

// messageID is gossipsub's message ID function: crypto.EnvelopeID (the
// SHA-256 of the payload) as a 32-byte string, so the ID gossipsub
// deduplicates on is the ID storage files the envelope under. With no
// author and no sequence number there is nothing else to hash; and because
// every envelope carries a fresh random nonce, two distinct envelopes never
// share an ID, while a replayed one always does.
func messageID(m *pb.Message) string {
	id := crypto.EnvelopeID(m.GetData())
	return string(id[:])
}

// newPubSub starts a gossipsub router on h configured for Hearth: no
// signatures, no author, content-hash message IDs, frames bounded by
// maxRPCSize, Hearth's peer scores, explicit validation limits, no peer
// exchange and no discovery (topic names are never advertised anywhere).
// It stops when ctx is done.
//
// It returns an error if an option is rejected by go-libp2p-pubsub (for
// example an invalid score parameter).
func newPubSub(ctx context.Context, h host.Host, cfg pubsubConfig) (*pubsub.PubSub, error) {
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	workers := cfg.validateWorkers
	if workers == 0 {
		workers = min(runtime.NumCPU(), maxValidateWorkers)
	}
	queue := cfg.validateQueue
	if queue == 0 {
		queue = defaultValidateQueue
	}

	opts := []pubsub.Option{
		// Gossipsub logs topic names, and its RPC logger dumps whole RPCs
		// (topics and the first bytes of every payload) at debug level.
		// Topic names are redacted from both; the RPC logger passes only
		// warnings (a peer sending malformed RPCs), and the main logger,
		// like every library's, warnings unless the node logs at debug
		// (libraryLogLevel).
		pubsub.WithLogger(slog.New(pubsubLogHandler{next: logger.Handler(), min: libraryLogLevel(logger)}).With("system", "pubsub")),
		pubsub.WithRPCLogger(slog.New(pubsubLogHandler{next: logger.Handler(), min: slog.LevelWarn}).With("system", "pubsub/rpc")),

		// Sender hiding; see the top of this file. The order matters:
		// WithNoAuthor clears the signing bit of the policy set before it,
		// whereas a signing policy set after WithNoAuthor would demand
		// signatures with no author to sign as, and fail at construction.
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),

		pubsub.WithMaxMessageSize(maxRPCSize),
		pubsub.WithMaxControlMessageSize(maxRPCSize),
		pubsub.WithSeenMessagesTTL(seenMessagesTTL),

		pubsub.WithValidateWorkers(workers),
		pubsub.WithValidateQueueSize(queue),
		pubsub.WithValidateThrottle(validateThrottle),

		pubsub.WithPeerScore(hearthScoreParams(cfg.appScore), hearthScoreThresholds()),

		// Peer exchange would hand our mesh peers' addresses to a peer we
		// prune, and (if accepted) make us dial addresses a stranger
		// chose. Off both ways; see also scoreAcceptPXThreshold.
		pubsub.WithPeerExchange(false),

		// Publish to the mesh only. Flood publishing sends a node's own
		// messages straight to every subscribed peer, which makes the
		// author the one peer from which everyone hears a message first.
		// In a group of up to D (6) online peers the mesh holds everyone
		// anyway, so nothing is lost in reach.
		pubsub.WithFloodPublish(false),
	}
	if cfg.scoreInspect != nil {
		period := cfg.scoreInspectPeriod
		if period == 0 {
			period = time.Second
		}
		// Must follow WithPeerScore.
		opts = append(opts, pubsub.WithPeerScoreInspect(cfg.scoreInspect, period))
	}
	if cfg.rpcInspector != nil {
		opts = append(opts, pubsub.WithAppSpecificRpcInspector(cfg.rpcInspector))
	}
	if cfg.rawTracer != nil {
		opts = append(opts, pubsub.WithRawTracer(cfg.rawTracer))
	}

	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	if err != nil {
		return nil, fmt.Errorf("node: starting gossipsub: %w", err)
	}
	return ps, nil
}

// pubsubLogHandler is the slog handler gossipsub logs through. It drops
// records below min and replaces the value of every attribute named
// "topic", at any depth, with "redacted": a topic name is derived from a
// group's epoch secret, and a log that links it to peers and times is a
// record of who met in which group.
type pubsubLogHandler struct {
	next slog.Handler
	min  slog.Level
}

func (h pubsubLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.next.Enabled(ctx, l)
}

func (h pubsubLogHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactTopics(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h pubsubLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactTopics(a)
	}
	return pubsubLogHandler{next: h.next.WithAttrs(red), min: h.min}
}

func (h pubsubLogHandler) WithGroup(name string) slog.Handler {
	return pubsubLogHandler{next: h.next.WithGroup(name), min: h.min}
}

// redactTopics returns a with every "topic" attribute in it redacted,
// resolving LogValuers (gossipsub's RPCs are one) first.
func redactTopics(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if a.Key == "topic" {
		return slog.String(a.Key, "redacted")
	}
	if v.Kind() != slog.KindGroup {
		return slog.Attr{Key: a.Key, Value: v}
	}
	group := v.Group()
	red := make([]slog.Attr, len(group))
	for i, g := range group {
		red[i] = redactTopics(g)
	}
	return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
}

// topicValidator decides what happens to one message on a group topic. It
// is given the peer that forwarded the message (not its author: there is
// none on the wire) and the payload, at most maxEnvelopeSize bytes. It
// returns
//
//   - pubsub.ValidationAccept and, optionally, the decoded message, which
//     the handler receives as Message.ValidatorData: the message is
//     delivered and forwarded;
//   - pubsub.ValidationReject for garbage (not an envelope, fails to
//     authenticate): the message is dropped and the forwarding peer's score
//     falls (see score.go), two of them graylisting it;
//   - pubsub.ValidationIgnore for messages that are valid-looking but
//     unwanted (a duplicate, an epoch the node has not reached yet): dropped
//     without penalty.
//
// It runs inline on a validation worker, so it must not block; it also runs
// on the node's own publishes unless they carry decoded data (see
// groupTopic.publish).
type topicValidator func(ctx context.Context, from peer.ID, data []byte) (pubsub.ValidationResult, any)

// topicHandler receives each accepted message of a group topic, in arrival
// order, one at a time, on the topic's own goroutine. The node's own
// publishes are delivered too (ReceivedFrom is the node's peer ID).
// ctx is done when the topic is left; a handler must return promptly then.
type topicHandler func(ctx context.Context, msg *pubsub.Message)

// defaultDeliveryQueue is how many accepted messages may wait for a slow
// handler before further ones are dropped.
const defaultDeliveryQueue = 256

// subscriptionBuffer is the buffer of gossipsub's own subscription channel,
// the first of the two delivery stages (see groupTopic). Gossipsub never
// waits on it: when it is full, gossipsub drops the message and logs it. It
// only has to absorb a burst that arrives between two reads by the reader
// goroutine, which does nothing else, so it is sized far beyond any burst a
// small group produces; the bounding that matters happens in the delivery
// queue, where drops are counted.
const subscriptionBuffer = 1024

// topicConfig configures joinGroupTopic.
type topicConfig struct {
	// name is the opaque topic name (crypto.EpochKeys.Topic). Required.
	name string
	// validate and handle are required.
	validate topicValidator
	handle   topicHandler
	// queue is the delivery queue length; zero means defaultDeliveryQueue.
	queue int
	// logger receives the topic's diagnostics (never the topic name or
	// any payload). Nil discards them.
	logger *slog.Logger
}

// Errors of groupTopic.
var (
	// errEnvelopeTooLarge is returned by publish for a payload longer than
	// maxEnvelopeSize.
	errEnvelopeTooLarge = errors.New("node: payload is larger than the largest envelope")
	// errTopicConfig is returned by joinGroupTopic for a config missing its
	// name, validator or handler.
	errTopicConfig = errors.New("node: topic needs a name, a validator and a handler")
)

// groupTopic is a node's membership of one gossipsub topic: it validates
// every message before gossipsub forwards it, delivers accepted messages to
// a handler without ever blocking gossipsub, publishes, and leaves.
//
// Delivery works in two stages. A reader goroutine takes each accepted
// message from gossipsub's subscription as soon as it arrives and puts it
// on a bounded queue; a handler goroutine takes messages from the queue and
// calls the handler. If the handler falls so far behind that the queue is
// full, the reader drops the message and counts it (see dropped) instead of
// waiting: gossipsub has already forwarded it to the mesh, so the group is
// unaffected, and only this node misses it until it syncs history with a
// peer. The alternative, blocking, would stall gossipsub's delivery to
// every topic of the node.
type groupTopic struct {
	self     peer.ID
	ps       *pubsub.PubSub
	name     string
	validate topicValidator
	logger   *slog.Logger

	topic *pubsub.Topic
	sub   *pubsub.Subscription
	queue chan *pubsub.Message

	// cancel ends the handler's context; readerDone and handlerDone close
	// when the two goroutines have returned.
	cancel      context.CancelFunc
	readerDone  chan struct{}
	handlerDone chan struct{}

	// droppedCount counts accepted messages dropped because the delivery
	// queue was full; oversizedCount counts messages rejected for their
	// size before validation.
	droppedCount   atomic.Uint64
	oversizedCount atomic.Uint64

	leaveOnce sync.Once
	leaveErr  error
}

// joinGroupTopic registers cfg.validate for the topic, joins it, gives it
// Hearth's topic score parameters, subscribes, and starts delivering to
// cfg.handle. The validator is registered first, so no message of the
// topic is ever forwarded or delivered unvalidated. ctx bounds delivery
// (the handler's context derives from it); the caller must still call
// leave, which is what unsubscribes.
//
// It returns errTopicConfig for an incomplete config, and an error if the
// node already has a validator or a handle for this topic.
func joinGroupTopic(ctx context.Context, h host.Host, ps *pubsub.PubSub, cfg topicConfig) (*groupTopic, error) {
	if cfg.name == "" || cfg.validate == nil || cfg.handle == nil {
		return nil, errTopicConfig
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	queue := cfg.queue
	if queue <= 0 {
		queue = defaultDeliveryQueue
	}
	t := &groupTopic{
		self:        h.ID(),
		ps:          ps,
		name:        cfg.name,
		validate:    cfg.validate,
		logger:      logger,
		queue:       make(chan *pubsub.Message, queue),
		readerDone:  make(chan struct{}),
		handlerDone: make(chan struct{}),
	}

	if err := ps.RegisterTopicValidator(cfg.name, t.validateMessage, pubsub.WithValidatorInline(true)); err != nil {
		return nil, fmt.Errorf("node: registering topic validator: %w", err)
	}
	topic, err := ps.Join(cfg.name)
	if err != nil {
		_ = ps.UnregisterTopicValidator(cfg.name)
		return nil, fmt.Errorf("node: joining topic: %w", err)
	}
	if err := topic.SetScoreParams(hearthTopicScoreParams()); err != nil {
		_ = topic.Close()
		_ = ps.UnregisterTopicValidator(cfg.name)
		return nil, fmt.Errorf("node: topic score parameters: %w", err)
	}
	sub, err := topic.Subscribe(pubsub.WithBufferSize(subscriptionBuffer))
	if err != nil {
		_ = topic.Close()
		_ = ps.UnregisterTopicValidator(cfg.name)
		return nil, fmt.Errorf("node: subscribing to topic: %w", err)
	}
	t.topic, t.sub = topic, sub

	hctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	go t.read(hctx)
	go t.deliver(hctx, cfg.handle)
	return t, nil
}

// validateMessage is the validator registered with gossipsub. The size
// check comes before anything else, so an oversized payload costs the node
// one comparison and its forwarder a penalty.
func (t *groupTopic) validateMessage(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if len(m.GetData()) > maxEnvelopeSize {
		t.oversizedCount.Add(1)
		return pubsub.ValidationReject
	}
	// The node's own publish with the decoded form attached: the engine
	// built this envelope, so there is nothing to check and it may no
	// longer hold the key to open it. Only a local publish has from equal
	// to our own ID: for a received message it is the peer at the other
	// end of the stream.
	if from == t.self && m.ValidatorData != nil {
		return pubsub.ValidationAccept
	}
	res, decoded := t.validate(ctx, from, m.GetData())
	if res == pubsub.ValidationAccept {
		m.ValidatorData = decoded
	}
	return res
}

// read moves accepted messages from gossipsub's subscription to the
// delivery queue, dropping (and counting) what does not fit. It returns
// when the subscription is cancelled or ctx is done.
func (t *groupTopic) read(ctx context.Context) {
	defer close(t.readerDone)
	for {
		msg, err := t.sub.Next(ctx)
		if err != nil {
			return
		}
		select {
		case t.queue <- msg:
		default:
			n := t.droppedCount.Add(1)
			t.logger.Debug("delivery queue full; dropped a message", "dropped_total", n)
		}
	}
}

// deliver calls handle for each queued message until ctx is done.
func (t *groupTopic) deliver(ctx context.Context, handle topicHandler) {
	defer close(t.handlerDone)
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-t.queue:
			if ctx.Err() != nil {
				return
			}
			handle(ctx, msg)
		}
	}
}

// publish validates data as any received message would be (unless decoded
// is non-nil, in which case decoded is trusted as the payload's decoded
// form and delivered to the node's own handler as ValidatorData) and sends
// it to the topic's mesh.
//
// It returns errEnvelopeTooLarge (wrapped) for a payload longer than
// maxEnvelopeSize, a pubsub.ValidationError if the validator rejects or
// ignores it, and pubsub.ErrTopicClosed after leave. Publishing a payload
// identical to one seen in the last seenMessagesTTL returns nil and sends
// nothing: envelopes are unique by construction, so only a replay does that.
func (t *groupTopic) publish(ctx context.Context, data []byte, decoded any) error {
	if len(data) > maxEnvelopeSize {
		return fmt.Errorf("%w: %d bytes, at most %d", errEnvelopeTooLarge, len(data), maxEnvelopeSize)
	}
	var opts []pubsub.PubOpt
	if decoded != nil {
		opts = append(opts, pubsub.WithValidatorData(decoded))
	}
	if err := t.topic.Publish(ctx, data, opts...); err != nil {
		return fmt.Errorf("node: publishing to group topic: %w", err)
	}
	return nil
}

// dropped returns how many accepted messages were dropped because the
// handler fell behind and the delivery queue was full.
func (t *groupTopic) dropped() uint64 { return t.droppedCount.Load() }

// oversized returns how many received messages were rejected for being
// longer than maxEnvelopeSize.
func (t *groupTopic) oversized() uint64 { return t.oversizedCount.Load() }

// leave unsubscribes (gossipsub tells connected peers), ends the handler's
// context, closes the topic and then unregisters the validator (in that
// order, so nothing is forwarded unvalidated in between), and waits until
// the handler has returned or ctx is done. Messages still queued are
// discarded. Calling leave again returns the first call's result.
//
// It returns the first error from closing the topic or unregistering the
// validator, or ctx's error if the handler did not return in time.
func (t *groupTopic) leave(ctx context.Context) error {
	t.leaveOnce.Do(func() {
		t.sub.Cancel()
		t.cancel()
		var errs []error
		if err := t.topic.Close(); err != nil {
			errs = append(errs, fmt.Errorf("node: closing topic: %w", err))
		}
		if err := t.ps.UnregisterTopicValidator(t.name); err != nil {
			errs = append(errs, fmt.Errorf("node: unregistering topic validator: %w", err))
		}
	wait:
		for _, done := range []chan struct{}{t.readerDone, t.handlerDone} {
			select {
			case <-done:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("node: waiting for topic handler: %w", ctx.Err()))
				break wait
			}
		}
		t.leaveErr = errors.Join(errs...)
	})
	return t.leaveErr
}
