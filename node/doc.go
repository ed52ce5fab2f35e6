// Package node is the embeddable Hearth node: it joins the crypto, protocol
// and storage packages and go-libp2p into working, end-to-end-encrypted
// groups. An app (the hearth daemon, a desktop or mobile app, a bot) runs
// one Node per member.
//
// # Using it
//
//	InitHome(dir, passphrase, crypto.DefaultKDFParams(), nil) // once
//	ks, _ := UnlockHome(dir, passphrase)
//	n, _ := New(ctx, Config{DataDir: dir, Keystore: ks, ListenAddrs: ...})
//	defer ks.Close()
//	defer n.Close()
//	sub := n.Subscribe()                      // events: messages, members, waiting room
//	g, _ := n.CreateGroup(ctx, GroupOptions{Name: "Tuesday circle", Pseudonym: "ann"})
//	invite, _, _ := g.CreateInvite(ctx, InviteOptions{Approval: true})
//	// ... another node: res, err := other.Join(ctx, invite, "bo")
//	g.Post(ctx, "welcome", MessageID{})
//	page, _ := g.History(MessageID{}, 50)
//
// Every group is a protocol.Session: the roster and keys of its current
// epoch. Posts travel as envelopes on the epoch's gossipsub topic; roster
// changes (Admit, Remove, Promote, Leave) are commits that move the group
// to a new epoch, a new topic and new keys. A joiner asks the admin named in
// an invite over the /hearth/join/1 stream protocol; the admin either adds
// it at once or keeps it in the waiting room until a host calls Admit or
// Deny. Everything is persisted in the node's store (sealed), so a
// restarted node has its groups, history and keys, rejoins its topics,
// reconnects to the peers it knew in each group, and resumes joins that
// wait for approval.
//
// # What it promises
//
//   - Nothing readable reaches the network or the disk: envelopes are
//     sealed by the crypto package, records by the storage package, and
//     logs never carry content, pseudonyms, group names, keys or invites
//     (peer IDs at debug level only).
//   - The topic validator accepts only envelopes that open under the
//     current epoch (or the previous one, for protocol.EpochGrace after a
//     commit); it rejects malformed or unauthentic ones, which costs the
//     forwarding peer its gossipsub score; it ignores duplicates; and it
//     rate-limits each member (Config.RateLimit: 60 a minute, bursts of 20,
//     by default).
//   - Each accepted envelope is stored, its post's local copy written and
//     its event emitted exactly once; the node's own posts too.
//   - Events never block the node: each Subscription has a bounded buffer
//     and drops its oldest event when full (Subscription.Dropped counts).
//   - A removed member gets EventRemoved, can no longer post (ErrRemoved),
//     leaves every topic of the group, and keeps its history readable.
//
// # Lifecycle
//
// New starts the libp2p host, gossipsub, the /hearth/join/1 handler, every
// group's topics and one timer goroutine (announcements, key expiry, topic
// rotation, retention, reconnection, pending joins). Close stops every
// goroutine the node started (stream handlers included), leaves every
// topic, closes the host and flushes and closes the store; afterwards
// methods return ErrClosed. Close does not close the keystore: its owner
// does, after Close.
//
// # Locking
//
// Node.mu guards the node's maps (groups, invites, pending joins) and is a
// leaf: nothing else is locked while it is held, except the event broker's
// lock. Each Group has mu, held while its session changes and while that
// change is persisted (so the store never lags a session that answered),
// and topicMu, taken before mu, which serialises joining and leaving the
// group's topics. No lock is held while publishing: gossipsub runs the
// topic validator, which takes Group.mu, synchronously inside a publish.
//
// # Receiving
//
// The topic validator is the single place received envelopes change a
// group: it calls Session.Open, and for an authentic envelope stores it
// (storage.PutEnvelope), writes a post's local copy, persists the session
// and emits events, before accepting. (The handler gossipsub calls
// afterwards only notes which peer forwarded it.) Doing the work in the
// validator rather than the handler means a message that the delivery queue
// would drop under load is not lost: once opened, its key is gone.
// Envelopes that need a chain key or a commit not yet received are held
// (at most 256 per group, for at most protocol.EpochGrace) and opened again
// after each envelope that opens.
//
// # Epoch changes
//
// A commit is published on the old epoch's topic first, so every member of
// the old epoch (a removed one included) learns of it; then the node joins
// the new topic. The member's chain-key announcement for the new epoch is
// published only once gossipsub's mesh for the new topic holds every peer
// subscribed to it and has been stable for 1.5 s, because gossipsub sends a
// node's own message only to its current mesh, and a member who misses an
// announcement cannot read that member's posts for the whole epoch. The
// pending announcement is persisted until it is published.
package node
