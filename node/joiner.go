package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file is the joiner's side of /hearth/join/1: Node.Join, and the
// pending joins that wait for a host's approval across restarts.

// pendingJoin is a join waiting for approval. It is stored sealed under the
// zero group ID, key "join/" + group ID:
//
//	version u8 = 1 ‖ invite string bytes32 ‖ credential bytes32
//	‖ pseudonym bytes32 ‖ requested u64 (unix ms)
//
// It holds the invite (with its secret, to prove it when asking again) and
// the new member credential the admin will seal the epoch secret to: only a
// welcome for this credential, from this admin, completes it.
type pendingJoin struct {
	group     crypto.GroupID
	invite    string
	cred      *crypto.MemberCredential
	pseudonym string
	requested time.Time
	admin     peer.AddrInfo
	// busy is set (under n.mu) while an exchange for this join runs;
	// settled once an answer completed it (a delivery and an answer to
	// asking again can race, and only the first may act).
	busy, settled bool
}

func (pj *pendingJoin) wipe() {
	if pj.cred != nil {
		pj.cred.Wipe()
	}
}

func encodePendingJoin(pj *pendingJoin) []byte {
	cb := pj.cred.Marshal()
	defer crypto.Wipe(cb)
	e := newEnc()
	e.str(pj.invite)
	e.bytes32(cb)
	e.str(pj.pseudonym)
	e.u64(uint64(pj.requested.UnixMilli()))
	return e.bytes()
}

// maxInviteString bounds a stored invite string.
const maxInviteString = 4096

func decodePendingJoin(b []byte) (*pendingJoin, error) {
	d := newDec(b)
	pj := &pendingJoin{invite: d.str(maxInviteString)}
	cb := d.bytes32(crypto.MemberCredentialSize)
	pj.pseudonym = d.str(protocol.MaxPseudonymBytes)
	pj.requested = time.UnixMilli(int64(d.u64()))
	if err := d.finish(); err != nil {
		return nil, err
	}
	defer crypto.Wipe(cb)
	cred, err := crypto.UnmarshalMemberCredential(cb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRecord, err)
	}
	pj.cred = cred
	inv, err := crypto.ParseInvite(pj.invite)
	if err != nil {
		cred.Wipe()
		return nil, fmt.Errorf("%w: %w", errRecord, err)
	}
	defer inv.Wipe()
	pj.group = inv.Group
	pj.admin, err = inviteAdmin(inv)
	if err != nil {
		cred.Wipe()
		return nil, err
	}
	return pj, nil
}

// inviteAdmin returns the admin an invite names.
func inviteAdmin(inv *crypto.Invite) (peer.AddrInfo, error) {
	id, err := peer.IDFromBytes(inv.PeerID)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("node: invite: admin peer ID: %w", ErrInviteMalformed)
	}
	ai := peer.AddrInfo{ID: id}
	for _, b := range inv.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("node: invite: admin address: %w", ErrInviteMalformed)
		}
		ai.Addrs = append(ai.Addrs, a)
	}
	return ai, nil
}

// zeroGroup is the group ID the node's own records live under.
var zeroGroup crypto.GroupID

// loadPendingJoins reads every pending join.
func (n *Node) loadPendingJoins() ([]*pendingJoin, error) {
	var out []*pendingJoin
	err := n.store.Scan(storage.KindLocal, zeroGroup, prefixJoin, func(key, value []byte) error {
		pj, err := decodePendingJoin(value)
		crypto.Wipe(value)
		if err != nil {
			n.log.Warn("dropping an unreadable pending join", "err", err)
			return nil
		}
		out = append(out, pj)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: reading pending joins: %w", err)
	}
	return out, nil
}

// Join asks the admin named in invite to let this node into the group under
// pseudonym, over /hearth/join/1. It returns JoinJoined with the group when
// the admin added it at once, or JoinWaiting when a host must approve: the
// node then keeps asking (on reconnecting to the admin and periodically,
// across restarts) and emits EventJoined or EventJoinDenied.
//
// Errors (errors.Is): ErrInviteMistyped, ErrInviteMalformed (the text);
// ErrInviteExpired (checked here first, then by the admin),
// ErrInviteRevoked, ErrInviteUsedUp, ErrInviteUnknown, ErrJoinDenied,
// ErrJoinFailed (the admin's answer); ErrAdminUnreachable; ErrAlreadyMember;
// protocol.ErrBadPseudonym; ErrClosed.
func (n *Node) Join(ctx context.Context, invite, pseudonym string) (*JoinResult, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	inv, err := crypto.ParseInvite(invite)
	if err != nil {
		if errors.Is(err, crypto.ErrInviteVersion) {
			return nil, fmt.Errorf("node: invite: %w: %w", ErrInviteMalformed, err)
		}
		return nil, fmt.Errorf("node: invite: %w", err)
	}
	defer inv.Wipe()
	if inv.Expired(n.now()) {
		return nil, fmt.Errorf("node: invite: %w", ErrInviteExpired)
	}
	admin, err := inviteAdmin(inv)
	if err != nil {
		return nil, err
	}
	if admin.ID == n.host.ID() {
		return nil, fmt.Errorf("node: %w", ErrAlreadyMember)
	}
	if pseudonym, err = protocol.ValidatePseudonym(pseudonym); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n.mu.Lock()
	existing := n.groups[inv.Group]
	n.mu.Unlock()
	if existing != nil && !existing.Info().Removed {
		return nil, fmt.Errorf("node: %w", ErrAlreadyMember)
	}
	n.mu.Lock()
	pj := n.joins[inv.Group]
	if pj != nil {
		if pj.busy {
			n.mu.Unlock()
			return &JoinResult{GroupID: inv.Group, Status: JoinWaiting}, nil
		}
		pj.busy = true
	}
	n.mu.Unlock()

	fresh := pj == nil
	if fresh {
		cred, err := crypto.NewMemberCredential(n.rand)
		if err != nil {
			return nil, fmt.Errorf("node: drawing member keys: %w", err)
		}
		pj = &pendingJoin{group: inv.Group, invite: inv.String(), cred: cred, pseudonym: pseudonym, requested: n.now(), admin: admin, busy: true}
		// Stored before asking: if the admin puts the request in the
		// waiting room, its later welcome is sealed to this credential.
		if err := n.store.Put(storage.KindLocal, zeroGroup, withPrefix(prefixJoin, inv.Group[:]), encodePendingJoin(pj)); err != nil {
			cred.Wipe()
			return nil, fmt.Errorf("node: storing pending join: %w", err)
		}
	}
	resp, err := n.askJoin(ctx, pj)
	if err != nil {
		n.mu.Lock()
		if _, kept := n.joins[pj.group]; kept {
			pj.busy = false
			n.mu.Unlock()
		} else {
			n.mu.Unlock()
			n.dropPendingJoin(pj, true)
		}
		return nil, err
	}
	if resp.Status == protocol.JoinWaiting {
		n.mu.Lock()
		pj.busy = false
		n.joins[pj.group] = pj
		n.mu.Unlock()
		return &JoinResult{GroupID: pj.group, Status: JoinWaiting}, nil
	}
	g, err := n.settleJoin(pj, resp)
	if err != nil {
		return nil, err
	}
	return &JoinResult{GroupID: pj.group, Status: JoinJoined, Group: g}, nil
}

// askJoin runs one join exchange with the admin of pj.
//
// The admin's resource manager lets each peer hold one join stream at a
// time (host.go), and it lets go of a finished stream only a moment after
// the exchange ends on both sides. A joiner that asks again at once (a
// second invite to the same host right after the first was refused) can
// meet that limit: the admin resets the new stream with
// StreamResourceLimitExceeded before any handler sees it. That refusal is
// retried a few times after a short wait; every other failure is final.
func (n *Node) askJoin(ctx context.Context, pj *pendingJoin) (*protocol.JoinResponse, error) {
	inv, err := crypto.ParseInvite(pj.invite)
	if err != nil {
		return nil, fmt.Errorf("node: invite: %w", err)
	}
	defer inv.Wipe()
	ctx, cancel := context.WithTimeout(ctx, n.joinTimeout)
	defer cancel()
	// In relay-only mode only the invite's circuits through this node's
	// own relays are dialled (dialableAddrs).
	if err := n.host.Connect(ctx, n.dialableAddrs(pj.admin)); err != nil {
		return nil, fmt.Errorf("node: %w: %w", ErrAdminUnreachable, err)
	}
	wait := joinBusyWait
	for attempt := 1; ; attempt++ {
		resp, err := n.joinExchange(ctx, pj, inv)
		if err == nil || !joinStreamBusy(err) || attempt == joinBusyAttempts {
			return resp, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		}
		wait *= 2
	}
}

// joinBusyAttempts bounds the tries of one join exchange whose stream the
// admin refused as over its per-peer limit, and joinBusyWait is the first
// wait between them (doubling: 20, 40, 80 ms), ample for the admin to
// release a stream that just ended.
const (
	joinBusyAttempts = 4
	joinBusyWait     = 20 * time.Millisecond
)

// joinStreamBusy reports whether err is a join stream refused by a
// resource manager, the admin's or this node's own, rather than by the
// admin's handler: asking again a moment later may succeed.
func joinStreamBusy(err error) bool {
	return errors.Is(err, &network.StreamError{ErrorCode: network.StreamResourceLimitExceeded, Remote: true}) ||
		errors.Is(err, network.ErrResourceLimitExceeded)
}

// joinExchange opens a join stream to the admin of pj and runs the
// exchange on it: the intent, the admin's challenge, the request proving
// inv, and the admin's answer.
func (n *Node) joinExchange(ctx context.Context, pj *pendingJoin, inv *crypto.Invite) (*protocol.JoinResponse, error) {
	s, err := n.host.NewStream(ctx, pj.admin.ID, joinProtocolID)
	if err != nil {
		return nil, fmt.Errorf("node: %w: %w", ErrAdminUnreachable, err)
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	deadline, _ := ctx.Deadline()
	_ = s.SetDeadline(deadline)
	resp, err := func() (*protocol.JoinResponse, error) {
		if err := writeFrame(s, []byte{intentJoin}); err != nil {
			return nil, err
		}
		b, err := readFrame(s, maxChallengeFrame)
		if err != nil {
			return nil, err
		}
		ch, err := protocol.UnmarshalJoinChallenge(b)
		if err != nil {
			return nil, err
		}
		req, err := protocol.NewJoinRequest(inv, ch.Challenge, []byte(pj.admin.ID), pj.cred, pj.pseudonym)
		if err != nil {
			return nil, err
		}
		rb, err := req.Marshal()
		if err != nil {
			return nil, err
		}
		if err := writeFrame(s, rb); err != nil {
			return nil, err
		}
		b, err = readFrame(s, maxJoinResponseFrame)
		if err != nil {
			return nil, err
		}
		return protocol.UnmarshalJoinResponse(b)
	}()
	if err != nil {
		s.Reset()
		if errors.Is(err, protocol.ErrBadPseudonym) {
			return nil, fmt.Errorf("node: %w", err)
		}
		return nil, fmt.Errorf("node: %w: %w", ErrAdminUnreachable, err)
	}
	s.Close()
	if resp.Status == protocol.JoinRefused {
		return nil, fmt.Errorf("node: join refused: %w", resp.Err())
	}
	return resp, nil
}

// settleJoin completes a join with the admin's final answer: a welcome
// (JoinFromWelcome with the pending credential; the group is installed and
// EventJoined emitted for a join that waited) or a denial (ErrJoinDenied,
// and EventJoinDenied for a join that waited). The pending join is dropped
// either way, except when a welcome does not admit its credential.
func (n *Node) settleJoin(pj *pendingJoin, resp *protocol.JoinResponse) (*Group, error) {
	n.mu.Lock()
	if pj.settled {
		n.mu.Unlock()
		return nil, errors.New("node: join already settled")
	}
	pj.settled = true
	waited := n.joins[pj.group] == pj
	n.mu.Unlock()
	if resp.Status == protocol.JoinDenied {
		n.dropPendingJoin(pj, true)
		if waited {
			n.events.emit(Event{Kind: EventJoinDenied, Group: pj.group})
		}
		return nil, fmt.Errorf("node: %w", ErrJoinDenied)
	}
	var sess *protocol.Session
	var change *protocol.EpochChange
	err := fmt.Errorf("node: %w", ErrJoinFailed)
	if resp.Status == protocol.JoinJoined && resp.Welcome != nil {
		sess, change, err = protocol.JoinFromWelcomeFor(resp.Welcome, pj.group, pj.cred, n.nowMillis(), n.rand)
	}
	if err != nil {
		// Not a welcome for this join: it stays pending.
		n.mu.Lock()
		pj.settled = false
		n.mu.Unlock()
		return nil, fmt.Errorf("node: %w: %w", ErrJoinFailed, err)
	}
	g, err := n.installJoined(sess, change, resp.Welcome.Commit, pj.admin)
	// The session holds the credential from here on: not wiped.
	n.dropPendingJoin(pj, false)
	if err != nil {
		return nil, err
	}
	if waited {
		n.events.emit(Event{Kind: EventJoined, Group: pj.group})
	}
	return g, nil
}

// installJoined installs the session a welcome started: the welcome's
// commit is stored (so this member can welcome others later), the
// announcement waits for the topic, and the admin is the group's first
// known peer.
func (n *Node) installJoined(sess *protocol.Session, change *protocol.EpochChange, c *protocol.Commit, admin peer.AddrInfo) (*Group, error) {
	st := sess.GroupState()
	n.mu.Lock()
	if old := n.groups[st.ID]; old != nil {
		// Rejoining a group this member left or was removed from: the
		// old handle goes, its history stays in the store.
		delete(n.groups, st.ID)
		n.mu.Unlock()
		old.close()
	} else {
		n.mu.Unlock()
	}
	if cb, err := c.Marshal(); err == nil {
		if err := n.store.Put(storage.KindCommit, st.ID, epochKey(c.Epoch), cb); err != nil {
			sess.Wipe()
			return nil, fmt.Errorf("node: storing commit: %w", err)
		}
	}
	return n.installGroup(sess, func(g *Group) error {
		g.notePeerLocked(admin.ID, n.now())
		if err := g.setAnnounceLocked(change); err != nil {
			return err
		}
		if ob := g.outboxes[change.Topic]; ob != nil && c.Committer != sess.Me().ID {
			ob.waitFor = c.Committer
		}
		return nil
	})
}

// dropPendingJoin forgets pj, wiping its credential if wipe is set.
func (n *Node) dropPendingJoin(pj *pendingJoin, wipe bool) {
	n.mu.Lock()
	if n.joins[pj.group] == pj {
		delete(n.joins, pj.group)
	}
	n.mu.Unlock()
	if err := n.store.Delete(storage.KindLocal, zeroGroup, withPrefix(prefixJoin, pj.group[:])); err != nil && !errors.Is(err, storage.ErrClosed) {
		n.log.Warn("deleting a pending join", "err", err)
	}
	if wipe {
		pj.wipe()
	}
}

// retryPendingJoins asks again for every pending join not already being
// asked, optionally only those whose admin is only.
func (n *Node) retryPendingJoins() { n.retryJoinsOf("") }

func (n *Node) retryJoinsOf(only peer.ID) {
	n.mu.Lock()
	var todo []*pendingJoin
	for _, pj := range n.joins {
		if !pj.busy && (only == "" || pj.admin.ID == only) {
			pj.busy = true
			todo = append(todo, pj)
		}
	}
	n.mu.Unlock()
	for _, pj := range todo {
		if !n.goTracked(func() { n.reask(pj) }) {
			return
		}
	}
}

// reask asks again for a pending join and settles it if the admin has
// decided.
func (n *Node) reask(pj *pendingJoin) {
	resp, err := n.askJoin(n.ctx, pj)
	n.mu.Lock()
	pj.busy = false
	n.mu.Unlock()
	switch {
	case err != nil && errors.Is(err, ErrAdminUnreachable):
		return
	case err != nil:
		// Refused (the invite went away, or the admin no longer knows the
		// request): the join will not complete.
		n.mu.Lock()
		first := !pj.settled
		pj.settled = true
		n.mu.Unlock()
		if first {
			n.dropPendingJoin(pj, true)
			n.events.emit(Event{Kind: EventJoinDenied, Group: pj.group})
		}
	case resp.Status == protocol.JoinWaiting:
	default:
		if _, err := n.settleJoin(pj, resp); err != nil && !errors.Is(err, ErrJoinDenied) {
			n.log.Warn("completing a pending join failed", "err", err)
		}
	}
}

// connectedNotifee re-asks pending joins when their admin connects.
func (n *Node) connectedNotifee() *network.NotifyBundle {
	return &network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			n.retryJoinsOf(c.RemotePeer())
		},
	}
}
