package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearthnet/hearth/crypto"
	"github.com/hearthnet/hearth/protocol"
	"github.com/hearthnet/hearth/storage"
)

// This file speaks /hearth/join/1: the joiner's request to an admin, the
// admin's answer, and the admin's later delivery of a welcome (or a
// denial) to a joiner that waited for approval.
//
// Framing: every message is one frame, a u32 big-endian length followed by
// that many bytes. The first frame on a stream is the opener's intent:
//
//	0x01                  join: the admin answers with a JoinChallenge, the
//	                      joiner sends a JoinRequest, the admin a JoinResponse
//	0x02 ‖ group ID [16]  delivery: the opener (an admin) sends one
//	                      JoinResponse (joined with a welcome, or denied) for
//	                      the group
//
// Each side reads frames with a strict maximum for the frame it expects, and
// rejects a longer length before reading or allocating anything, and the
// whole exchange runs under one deadline. A peer that sends garbage, claims
// a huge frame or goes silent has its stream reset.

// Join stream limits.
const (
	intentJoin    = 0x01
	intentDeliver = 0x02

	maxIntentFrame    = 1 + crypto.GroupIDSize
	maxChallengeFrame = 64
	// maxJoinRequestFrame bounds a JoinRequest: 1 + 8 + 64 + 2 + 256 + 32
	// + 64 = 427 bytes, rounded up.
	maxJoinRequestFrame = 512
	// maxJoinResponseFrame bounds a JoinResponse: its welcome holds a
	// group state and a commit for up to protocol.MaxMembers members,
	// about 230 KiB.
	maxJoinResponseFrame = 512 << 10

	// defaultJoinTimeout bounds a whole exchange on one stream.
	defaultJoinTimeout = 15 * time.Second
)

// errFrameTooLarge is returned by readFrame for a length over its maximum.
var errFrameTooLarge = errors.New("node: join frame too large")

// writeFrame writes one frame.
func writeFrame(w io.Writer, payload []byte) error {
	b := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	_, err := w.Write(append(b, payload...))
	return err
}

// readFrame reads one frame of at most max bytes. The length is checked
// before anything is allocated.
func readFrame(r io.Reader, max int) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if int64(n) > int64(max) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", errFrameTooLarge, n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// handleJoinStream serves /hearth/join/1.
func (n *Node) handleJoinStream(s network.Stream) {
	remote := s.Conn().RemotePeer()
	if !n.joinRL.take(remote, time.Now()) {
		n.log.Debug("join attempts over the per-peer limit", "peer", remote.String())
		s.Reset()
		return
	}
	ok := n.goTracked(func() {
		if err := n.serveJoin(s); err != nil {
			n.log.Debug("join stream ended", "peer", remote.String(), "err", err)
			s.Reset()
			return
		}
		s.Close()
	})
	if !ok {
		s.Reset()
	}
}

// serveJoin runs one inbound exchange.
func (n *Node) serveJoin(s network.Stream) error {
	ctx, cancel := context.WithTimeout(n.ctx, n.joinTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	if err := s.SetDeadline(deadline); err != nil {
		return err
	}
	// Close resets the stream when the node closes, so nothing outlives
	// Close waiting on a read.
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()

	intent, err := readFrame(s, maxIntentFrame)
	if err != nil {
		return err
	}
	switch {
	case len(intent) == 1 && intent[0] == intentJoin:
		return n.serveJoinRequest(s)
	case len(intent) == maxIntentFrame && intent[0] == intentDeliver:
		var gid crypto.GroupID
		copy(gid[:], intent[1:])
		return n.receiveDelivery(s, gid)
	}
	return errors.New("node: unknown join intent")
}

// serveJoinRequest is the admin's side of a join.
func (n *Node) serveJoinRequest(s network.Stream) error {
	remote := s.Conn().RemotePeer()
	challenge, err := crypto.NewJoinChallenge(n.rand)
	if err != nil {
		return err
	}
	if err := writeFrame(s, (&protocol.JoinChallenge{Challenge: challenge}).Marshal()); err != nil {
		return err
	}
	b, err := readFrame(s, maxJoinRequestFrame)
	if err != nil {
		return err
	}
	req, err := protocol.UnmarshalJoinRequest(b)
	if err != nil {
		return err
	}
	resp := n.answerJoin(remote, req, challenge)
	rb, err := resp.Marshal()
	if err != nil {
		return err
	}
	return writeFrame(s, rb)
}

// refused returns a refusal with the code for err.
func refused(err error) *protocol.JoinResponse {
	return &protocol.JoinResponse{Status: protocol.JoinRefused, Code: protocol.JoinCodeFor(err)}
}

// answerJoin decides a join request. Unknown invites and bad proofs get the
// same answer (unknown), so that someone without the invite's secret learns
// nothing about it.
func (n *Node) answerJoin(remote peer.ID, req *protocol.JoinRequest, challenge [32]byte) *protocol.JoinResponse {
	n.mu.Lock()
	gid, ok := n.invites[req.Invite]
	g := n.groups[gid]
	n.mu.Unlock()
	if !ok || g == nil {
		return refused(protocol.ErrInviteUnknown)
	}
	resp, add := g.checkJoin(remote, req, challenge)
	if add == nil {
		return resp
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.joinTimeout)
	defer cancel()
	if _, err := g.commit(ctx, []protocol.Change{*add}, requireAdmin, crypto.MemberID{}); err != nil {
		n.log.Warn("adding a joiner failed", "err", err)
		g.returnUse(req.Invite)
		return refused(err)
	}
	w, err := g.welcomeFor(req.Public.ID())
	if err != nil {
		n.log.Warn("building a welcome failed", "err", err)
		return refused(err)
	}
	return &protocol.JoinResponse{Status: protocol.JoinJoined, Welcome: w}
}

// checkJoin runs protocol.CheckJoin against the stored invite, and answers
// a request again from a joiner this group already knows (waiting, denied,
// or admitted since). A fresh request with an invite that needs approval
// enters the waiting room; one that does not is returned as the Add to
// commit. The invite's use is counted (and persisted) here, under g.mu, so
// two requests cannot share the last use.
func (g *Group) checkJoin(remote peer.ID, req *protocol.JoinRequest, challenge [32]byte) (*protocol.JoinResponse, *protocol.Add) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.requireAdminLocked(); err != nil {
		return refused(protocol.ErrJoinFailed), nil
	}
	inv, err := g.loadInviteLocked(req.Invite)
	if err != nil {
		return refused(protocol.ErrInviteUnknown), nil
	}
	defer inv.Wipe()
	now := g.n.now()
	t := req.Transcript(g.id, challenge, []byte(g.n.host.ID()))
	err = protocol.CheckJoin(inv, req, t, now)
	if errors.Is(err, protocol.ErrBadJoinProof) || errors.Is(err, protocol.ErrInviteUnknown) {
		return refused(protocol.ErrInviteUnknown), nil
	}
	if errors.Is(err, protocol.ErrBadPseudonym) {
		return refused(err), nil
	}
	// The proof verified: the request is authentic. A joiner asking again
	// gets the answer its first request earned, whatever the invite's
	// status now.
	member := req.Public.ID()
	if _, in := g.sess.GroupState().MemberByID(member); in {
		w, werr := g.welcomeForLocked(member)
		if werr != nil {
			return refused(werr), nil
		}
		return &protocol.JoinResponse{Status: protocol.JoinJoined, Welcome: w}, nil
	}
	if _, err := g.n.store.Get(storage.KindGroup, g.id, withPrefix(prefixDeny, member[:])); err == nil {
		return &protocol.JoinResponse{Status: protocol.JoinDenied}, nil
	}
	if _, err := g.n.store.Get(storage.KindGroup, g.id, withPrefix(prefixWait, member[:])); err == nil {
		return &protocol.JoinResponse{Status: protocol.JoinWaiting}, nil
	}
	if err != nil {
		return refused(err), nil
	}
	// A mentorship's pair holds the two and nobody else (mentor.go): the
	// asker's node takes the one join the request's invite was made for,
	// into its group of one, and refuses every other as withdrawn.
	if !g.n.pairAdmits(g.id, req.Invite, len(g.sess.GroupState().Roster)) {
		g.n.log.Info("refused a join into a mentorship's pair group")
		return refused(protocol.ErrInviteRevoked), nil
	}
	inv.Use()
	if err := g.storeInviteLocked(inv); err != nil {
		return refused(protocol.ErrJoinFailed), nil
	}
	if !inv.Approval {
		return nil, &protocol.Add{Public: req.Public, Pseudonym: req.Pseudonym, Role: protocol.RoleMember}
	}
	w := &waitEntry{requested: now, peer: peer.AddrInfo{ID: remote, Addrs: g.n.host.Peerstore().Addrs(remote)}, req: req}
	b, err := encodeWait(w)
	if err == nil {
		err = g.n.store.Put(storage.KindGroup, g.id, withPrefix(prefixWait, member[:]), b)
	}
	if err != nil {
		g.n.log.Warn("storing a waiting room entry", "err", err)
		return refused(protocol.ErrJoinFailed), nil
	}
	info := joinRequestInfo(w)
	g.n.events.emit(Event{Kind: EventJoinRequest, Group: g.id, Request: &info})
	return &protocol.JoinResponse{Status: protocol.JoinWaiting}, nil
}

// returnUse gives back the use counted for a join that could not be
// completed.
func (g *Group) returnUse(id crypto.InviteID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	inv, err := g.loadInviteLocked(id)
	if err != nil {
		return
	}
	defer inv.Wipe()
	inv.UsesLeft++
	_ = g.storeInviteLocked(inv)
}

// deliver opens a stream to a joiner that waited and sends it resp for
// group. A joiner that cannot be reached asks again later and gets the same
// answer, so failure is only logged.
func (n *Node) deliver(ctx context.Context, group crypto.GroupID, to peer.AddrInfo, resp *protocol.JoinResponse) {
	err := func() error {
		ctx, cancel := context.WithTimeout(ctx, n.joinTimeout)
		defer cancel()
		if err := n.host.Connect(ctx, to); err != nil {
			return err
		}
		s, err := n.host.NewStream(ctx, to.ID, joinProtocolID)
		if err != nil {
			return err
		}
		defer s.Close()
		deadline, _ := ctx.Deadline()
		_ = s.SetDeadline(deadline)
		rb, err := resp.Marshal()
		if err != nil {
			s.Reset()
			return err
		}
		if err := writeFrame(s, append([]byte{intentDeliver}, group[:]...)); err != nil {
			s.Reset()
			return err
		}
		if err := writeFrame(s, rb); err != nil {
			s.Reset()
			return err
		}
		return nil
	}()
	if err != nil {
		n.log.Debug("delivering a join answer failed; the joiner will ask again", "peer", to.ID.String(), "err", err)
	}
}

// receiveDelivery is the joiner's side of a delivery: an answer for a join
// that waits, accepted only from the admin that join asked and only for a
// join this node has pending; a welcome must also admit the pending join's
// own credential (protocol.JoinFromWelcome checks).
func (n *Node) receiveDelivery(s network.Stream, group crypto.GroupID) error {
	n.mu.Lock()
	pj := n.joins[group]
	n.mu.Unlock()
	if pj == nil || pj.admin.ID != s.Conn().RemotePeer() {
		return errors.New("node: delivery for no pending join of this peer")
	}
	b, err := readFrame(s, maxJoinResponseFrame)
	if err != nil {
		return err
	}
	resp, err := protocol.UnmarshalJoinResponse(b)
	if err != nil {
		return err
	}
	if resp.Status != protocol.JoinJoined && resp.Status != protocol.JoinDenied {
		return errors.New("node: delivery is neither a welcome nor a denial")
	}
	_, err = n.settleJoin(pj, resp)
	return err
}
