package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file is the admin's side of invites: creating, listing and revoking
// them, and the waiting room where joins that need approval wait.

// requireAdminLocked returns ErrClosed, ErrRemoved or ErrNotAdmin (wrapped)
// unless this member may administer the group. The caller holds g.mu.
func (g *Group) requireAdminLocked() error {
	switch {
	case g.closed:
		return ErrClosed
	case g.sess.Removed():
		return fmt.Errorf("node: %w", ErrRemoved)
	case !g.sess.Me().Role.IsAdmin():
		return fmt.Errorf("node: %w", ErrNotAdmin)
	}
	return nil
}

// CreateInvite creates an invite to the group, naming this node (its peer
// ID and listen addresses) as the admin to ask, and stores the admin's
// record of it (never the secret itself). The returned string holds the
// invite's secret: hand it only to the person invited.
//
// It returns ErrNotAdmin (wrapped) unless this member is a host or
// moderator, ErrRemoved after removal, ErrMentorPair for a mentorship's
// pair group (which holds the two and nobody else), and an error for
// options out of range (a negative expiry, more than 65535 uses) or a node
// with no listen address.
func (g *Group) CreateInvite(ctx context.Context, opts InviteOptions) (string, InviteInfo, error) {
	if err := g.refuseIfPair(); err != nil {
		return "", InviteInfo{}, err
	}
	return g.createInvite(ctx, opts)
}

// createInvite is CreateInvite without the pair check: AskMentor makes the
// one invite of a pair's group with it.
func (g *Group) createInvite(ctx context.Context, opts InviteOptions) (string, InviteInfo, error) {
	expires := opts.Expires
	if expires == 0 {
		expires = defaultInviteExpiry
	}
	uses := opts.Uses
	if uses == 0 {
		uses = 1
	}
	if expires < 0 || uses < 0 || uses > math.MaxUint16 {
		return "", InviteInfo{}, errors.New("node: invite options out of range")
	}
	var addrs [][]byte
	for _, a := range g.n.host.Addrs() {
		if b := a.Bytes(); len(b) <= crypto.MaxInviteAddrSize && len(addrs) < crypto.MaxInviteAddrs {
			addrs = append(addrs, b)
		}
	}
	if len(addrs) == 0 {
		return "", InviteInfo{}, errors.New("node: this node listens on no address, so nobody could use an invite")
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.requireAdminLocked(); err != nil {
		return "", InviteInfo{}, err
	}
	exp := g.n.now().Add(expires)
	inv, err := crypto.NewInvite(g.id, exp.Unix(), uint16(uses), []byte(g.n.host.ID()), addrs, g.n.rand)
	if err != nil {
		return "", InviteInfo{}, fmt.Errorf("node: creating invite: %w", err)
	}
	defer inv.Wipe()
	state := protocol.NewInviteState(inv, opts.Approval)
	defer state.Wipe()
	b := state.Marshal()
	defer crypto.Wipe(b)
	if err := g.n.store.Put(storage.KindInvite, g.id, state.ID[:], b); err != nil {
		return "", InviteInfo{}, fmt.Errorf("node: storing invite: %w", err)
	}
	g.n.mu.Lock()
	g.n.invites[state.ID] = g.id
	g.n.mu.Unlock()
	return inv.String(), inviteInfo(state), nil
}

func inviteInfo(s *protocol.InviteState) InviteInfo {
	return InviteInfo{
		ID:       s.ID,
		Expires:  time.Unix(s.Expires, 0),
		UsesLeft: int(s.UsesLeft),
		Approval: s.Approval,
		Revoked:  s.Revoked,
	}
}

// loadInviteLocked reads the admin's record of invite id. The caller holds
// g.mu and wipes the record.
func (g *Group) loadInviteLocked(id crypto.InviteID) (*protocol.InviteState, error) {
	b, err := g.n.store.Get(storage.KindInvite, g.id, id[:])
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("node: invite %s: %w", id, ErrNoInvite)
	}
	if err != nil {
		return nil, fmt.Errorf("node: reading invite: %w", err)
	}
	defer crypto.Wipe(b)
	s, err := protocol.UnmarshalInviteState(b)
	if err != nil {
		return nil, fmt.Errorf("node: reading invite: %w", err)
	}
	return s, nil
}

// storeInviteLocked writes the admin's record of an invite. The caller holds
// g.mu.
func (g *Group) storeInviteLocked(s *protocol.InviteState) error {
	b := s.Marshal()
	defer crypto.Wipe(b)
	if err := g.n.store.Put(storage.KindInvite, g.id, s.ID[:], b); err != nil {
		return fmt.Errorf("node: storing invite: %w", err)
	}
	return nil
}

// loadInviteIDs lists the IDs of the group's invites, for the node's map
// from invite to group.
func (g *Group) loadInviteIDs() []crypto.InviteID {
	var ids []crypto.InviteID
	_ = g.n.store.Scan(storage.KindInvite, g.id, nil, func(key, value []byte) error {
		crypto.Wipe(value)
		var id crypto.InviteID
		if len(key) == len(id) {
			copy(id[:], key)
			ids = append(ids, id)
		}
		return nil
	})
	return ids
}

// Invites lists the invites this node issued for the group, revoked and
// expired ones included, ordered by expiry. It returns ErrClosed after
// Close.
func (g *Group) Invites() ([]InviteInfo, error) {
	if g.n.isClosed() {
		return nil, ErrClosed
	}
	var out []InviteInfo
	err := g.n.store.Scan(storage.KindInvite, g.id, nil, func(key, value []byte) error {
		defer crypto.Wipe(value)
		s, err := protocol.UnmarshalInviteState(value)
		if err != nil {
			return fmt.Errorf("node: reading invite: %w", err)
		}
		out = append(out, inviteInfo(s))
		s.Wipe()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("node: listing invites: %w", err)
	}
	slices.SortFunc(out, func(a, b InviteInfo) int { return a.Expires.Compare(b.Expires) })
	return out, nil
}

// RevokeInvite withdraws an invite: joins with it are refused from now on
// (requests already in the waiting room stay there). It returns ErrNoInvite
// (wrapped) for an invite the group does not have, and ErrNotAdmin unless
// this member is a host or moderator.
func (g *Group) RevokeInvite(id crypto.InviteID) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.requireAdminLocked(); err != nil {
		return err
	}
	s, err := g.loadInviteLocked(id)
	if err != nil {
		return err
	}
	defer s.Wipe()
	s.Revoked = true
	return g.storeInviteLocked(s)
}

// waitEntry is a request in the waiting room, stored sealed under
// "wait/" + member ID:
//
//	version u8 = 1 ‖ requested u64 (unix ms) ‖ joiner peer ID bytes32
//	‖ address count u8 ‖ addresses bytes32 each ‖ request bytes32
//	(protocol.JoinRequest)
type waitEntry struct {
	requested time.Time
	peer      peer.AddrInfo
	req       *protocol.JoinRequest
}

func encodeWait(w *waitEntry) ([]byte, error) {
	rb, err := w.req.Marshal()
	if err != nil {
		return nil, err
	}
	e := newEnc()
	e.u64(uint64(w.requested.UnixMilli()))
	e.bytes32([]byte(w.peer.ID))
	addrs := w.peer.Addrs
	if len(addrs) > maxPeerAddrs {
		addrs = addrs[:maxPeerAddrs]
	}
	var kept [][]byte
	for _, a := range addrs {
		if b := a.Bytes(); len(b) <= maxPeerAddrSize {
			kept = append(kept, b)
		}
	}
	e.u8(uint8(len(kept)))
	for _, b := range kept {
		e.bytes32(b)
	}
	e.bytes32(rb)
	return e.bytes(), nil
}

func decodeWait(b []byte) (*waitEntry, error) {
	d := newDec(b)
	w := &waitEntry{requested: time.UnixMilli(int64(d.u64()))}
	pid, err := peer.IDFromBytes(d.bytes32(maxPeerIDBytes))
	if d.err == nil && err != nil {
		return nil, fmt.Errorf("%w: peer ID: %w", errRecord, err)
	}
	w.peer.ID = pid
	na := int(d.u8())
	if na > maxPeerAddrs {
		return nil, fmt.Errorf("%w: %d addresses", errRecord, na)
	}
	for i := 0; i < na && d.err == nil; i++ {
		a, err := ma.NewMultiaddrBytes(d.bytes32(maxPeerAddrSize))
		if d.err == nil && err != nil {
			return nil, fmt.Errorf("%w: address: %w", errRecord, err)
		}
		w.peer.Addrs = append(w.peer.Addrs, a)
	}
	rb := d.bytes32(maxJoinRequestFrame)
	if err := d.finish(); err != nil {
		return nil, err
	}
	req, err := protocol.UnmarshalJoinRequest(rb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRecord, err)
	}
	w.req = req
	return w, nil
}

// loadWaitLocked reads the waiting room entry of member. The caller holds
// g.mu.
func (g *Group) loadWaitLocked(member crypto.MemberID) (*waitEntry, error) {
	b, err := g.n.store.Get(storage.KindGroup, g.id, withPrefix(prefixWait, member[:]))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("node: member %s: %w", member, ErrNotWaiting)
	}
	if err != nil {
		return nil, fmt.Errorf("node: reading waiting room: %w", err)
	}
	return decodeWait(b)
}

// WaitingRoom lists the requests waiting for a host's approval, oldest
// first. It is empty for a member who does not administer the group.
func (g *Group) WaitingRoom() []JoinRequest {
	if g.n.isClosed() {
		return nil
	}
	var out []JoinRequest
	_ = g.n.store.Scan(storage.KindGroup, g.id, prefixWait, func(key, value []byte) error {
		w, err := decodeWait(value)
		if err != nil {
			g.n.log.Warn("skipping an unreadable waiting room entry", "err", err)
			return nil
		}
		out = append(out, joinRequestInfo(w))
		return nil
	})
	slices.SortFunc(out, func(a, b JoinRequest) int { return a.Requested.Compare(b.Requested) })
	return out
}

func joinRequestInfo(w *waitEntry) JoinRequest {
	return JoinRequest{Member: w.req.Public.ID(), Pseudonym: w.req.Pseudonym, Invite: w.req.Invite, Requested: w.requested}
}

// Admit lets a waiting joiner in: it commits their addition (a new epoch),
// and delivers the welcome to the joiner's node over /hearth/join/1. If the
// joiner cannot be reached now, it receives the welcome when it asks again
// (it does so on reconnecting, and periodically). It returns ErrNotWaiting
// (wrapped) when nobody with this ID waits, ErrNotAdmin unless this member
// is a host or moderator, ErrMentorPair for a mentorship's pair group, and
// the protocol's errors (protocol.ErrRosterFull).
func (g *Group) Admit(ctx context.Context, member crypto.MemberID) error {
	if err := g.refuseIfPair(); err != nil {
		return err
	}
	g.mu.Lock()
	if err := g.requireAdminLocked(); err != nil {
		g.mu.Unlock()
		return err
	}
	w, err := g.loadWaitLocked(member)
	g.mu.Unlock()
	if err != nil {
		return err
	}
	add := protocol.Add{Public: w.req.Public, Pseudonym: w.req.Pseudonym, Role: protocol.RoleMember}
	if _, err := g.commit(ctx, []protocol.Change{add}, requireAdmin, crypto.MemberID{}); err != nil {
		return err
	}
	if err := g.n.store.Delete(storage.KindGroup, g.id, withPrefix(prefixWait, member[:])); err != nil {
		g.n.log.Warn("clearing a waiting room entry", "err", err)
	}
	welcome, err := g.welcomeFor(member)
	if err != nil {
		return err
	}
	g.n.deliver(ctx, g.id, w.peer, &protocol.JoinResponse{Status: protocol.JoinJoined, Welcome: welcome})
	return nil
}

// Deny declines a waiting joiner, tells their node, and answers "denied" if
// it asks again. It returns ErrNotWaiting (wrapped) when nobody with this ID
// waits, and ErrNotAdmin unless this member is a host or moderator.
func (g *Group) Deny(ctx context.Context, member crypto.MemberID) error {
	g.mu.Lock()
	if err := g.requireAdminLocked(); err != nil {
		g.mu.Unlock()
		return err
	}
	w, err := g.loadWaitLocked(member)
	if err == nil {
		e := newEnc()
		e.u64(uint64(g.n.now().UnixMilli()))
		err = g.n.store.Put(storage.KindGroup, g.id, withPrefix(prefixDeny, member[:]), e.bytes())
	}
	if err == nil {
		err = g.n.store.Delete(storage.KindGroup, g.id, withPrefix(prefixWait, member[:]))
	}
	g.mu.Unlock()
	if err != nil {
		return err
	}
	g.n.deliver(ctx, g.id, w.peer, &protocol.JoinResponse{Status: protocol.JoinDenied})
	return nil
}

// welcomeFor builds the welcome for member, a member of the current epoch,
// from the commit that made the epoch.
func (g *Group) welcomeFor(member crypto.MemberID) (*protocol.Welcome, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.welcomeForLocked(member)
}

// welcomeForLocked is welcomeFor with g.mu held by the caller.
func (g *Group) welcomeForLocked(member crypto.MemberID) (*protocol.Welcome, error) {
	if g.closed {
		return nil, ErrClosed
	}
	epoch := g.sess.GroupState().Epoch
	b, err := g.n.store.Get(storage.KindCommit, g.id, epochKey(epoch))
	if err != nil {
		return nil, fmt.Errorf("node: reading the current epoch's commit: %w", err)
	}
	c, err := protocol.UnmarshalCommit(b)
	if err != nil {
		return nil, fmt.Errorf("node: reading the current epoch's commit: %w", err)
	}
	w, err := g.sess.Welcome(c, member)
	if err != nil {
		return nil, fmt.Errorf("node: building welcome: %w", err)
	}
	return w, nil
}
