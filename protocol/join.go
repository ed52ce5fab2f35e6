package protocol

import (
	"errors"
	"fmt"
	"time"

	"github.com/hearthnet/hearth/crypto"
)

// The join exchange, on a /hearth/join/1 stream from the joiner to the admin
// an invite names:
//
//  1. admin → joiner: JoinChallenge (a fresh random challenge);
//  2. joiner → admin: JoinRequest (its per-group keys and pseudonym, the
//     proof that it holds the invite secret, bound to the challenge and the
//     admin's peer ID, and its signature over the same transcript);
//  3. admin → joiner: JoinResponse (joined with a Welcome, waiting for a
//     host's approval, denied, or refused with a reason).
//
// This file holds the messages and the admin's check; the node runs the
// stream.

// Errors CheckJoin returns (wrapped), and JoinResponse.Err maps codes to.
var (
	// ErrInviteUnknown: the admin has no record of the invite. The joiner
	// is also told it when its proof does not verify (see JoinCodeFor).
	ErrInviteUnknown = errors.New("this invite is not valid for this group (it may be mistyped, or for another group or admin)")
	ErrInviteExpired = errors.New("this invite has expired; ask for a new one")
	ErrInviteRevoked = errors.New("this invite was withdrawn by the group's hosts; ask for a new one")
	ErrInviteUsedUp  = errors.New("this invite has been used as many times as it allows; ask for a new one")
	// ErrBadJoinProof: the request does not prove it holds the invite.
	// The admin sees it; the joiner is told ErrInviteUnknown (see
	// JoinCodeFor).
	ErrBadJoinProof = errors.New("the join request does not prove it holds this invite")
	// ErrJoinDenied: a host declined the request in the waiting room.
	ErrJoinDenied = errors.New("a host of the group declined the request to join")
	// ErrJoinFailed: the admin could not complete the join (for example the
	// group is full, or the admin lost its connection to the group).
	ErrJoinFailed = errors.New("the group could not add you right now; try again later")
)

// joinRequestPurpose is the signature purpose of a join request.
const joinRequestPurpose = "join request"

// joinVersion is the first byte of every join message.
const joinVersion = 1

// JoinChallenge is the admin's first message: a fresh challenge
// (crypto.NewJoinChallenge) that the joiner's proof must be bound to, so a
// proof cannot be replayed.
type JoinChallenge struct {
	Challenge [32]byte
}

// Marshal encodes the challenge: version, 32 bytes.
func (c *JoinChallenge) Marshal() []byte {
	return append([]byte{joinVersion}, c.Challenge[:]...)
}

// UnmarshalJoinChallenge decodes what Marshal produces. It returns an error
// wrapping ErrMalformed.
func UnmarshalJoinChallenge(b []byte) (*JoinChallenge, error) {
	r := newReader(b)
	readJoinVersion(r)
	c := new(JoinChallenge)
	r.fixed("challenge", c.Challenge[:])
	if err := r.finish(); err != nil {
		return nil, err
	}
	return c, nil
}

func readJoinVersion(r *reader) {
	if v := r.u8("join message version"); r.err == nil && v != joinVersion {
		r.failf("join message version", "%d is not supported", v)
	}
}

// JoinRequest is the joiner's request to join.
type JoinRequest struct {
	Invite    crypto.InviteID
	Public    crypto.MemberPublic
	Pseudonym string
	// Proof is crypto.JoinProof over the transcript: it shows the joiner
	// holds the invite secret without revealing it.
	Proof [32]byte
	// Signature is the joiner's member signature, purpose "join request",
	// over the transcript's bytes: proof that the joiner holds the private
	// keys of Public, so nobody can have someone else's keys admitted.
	Signature []byte
}

// Transcript returns the transcript the request is bound to, as the admin
// assembles it: the invite's group, the admin's own challenge and peer ID,
// and the joiner's keys and pseudonym as received.
func (req *JoinRequest) Transcript(group crypto.GroupID, challenge [32]byte, adminPeerID []byte) *crypto.JoinTranscript {
	return &crypto.JoinTranscript{
		Group:       group,
		Invite:      req.Invite,
		Challenge:   challenge,
		AdminPeerID: append([]byte(nil), adminPeerID...),
		Joiner:      req.Public,
		Pseudonym:   req.Pseudonym,
	}
}

// NewJoinRequest builds the joiner's request for inv, answering the admin's
// challenge, to the admin whose libp2p peer ID is adminPeerID, with the
// joiner's fresh per-group credential and pseudonym (trimmed). It returns
// ErrBadPseudonym (wrapped) for a pseudonym that breaks the rules.
func NewJoinRequest(inv *crypto.Invite, challenge [32]byte, adminPeerID []byte, cred *crypto.MemberCredential, pseudonym string) (*JoinRequest, error) {
	pseudonym, err := ValidatePseudonym(pseudonym)
	if err != nil {
		return nil, err
	}
	req := &JoinRequest{Invite: inv.ID(), Public: cred.Public(), Pseudonym: pseudonym}
	t := req.Transcript(inv.Group, challenge, adminPeerID)
	key := crypto.InviteAuthKey(&inv.Secret, inv.Group)
	defer crypto.Wipe(key[:])
	req.Proof = crypto.JoinProof(&key, t)
	req.Signature = cred.Sign(joinRequestPurpose, t.Bytes())
	return req, nil
}

// Marshal encodes the request: version, invite ID (8), public keys (64),
// pseudonym (u16 length, at most MaxPseudonymBytes), proof (32), signature
// (64).
func (req *JoinRequest) Marshal() ([]byte, error) {
	if len(req.Signature) != crypto.SignatureSize {
		return nil, fmt.Errorf("hearth/protocol: join request signature is %d bytes, want %d", len(req.Signature), crypto.SignatureSize)
	}
	var w writer
	w.u8(joinVersion)
	w.fixed(req.Invite[:])
	w.fixed(req.Public.Marshal())
	w.string16("pseudonym", req.Pseudonym, MaxPseudonymBytes)
	w.fixed(req.Proof[:])
	w.fixed(req.Signature)
	return w.finish()
}

// UnmarshalJoinRequest decodes what Marshal produces, rejecting malformed
// public keys and a pseudonym that is not valid and trimmed. It returns an
// error wrapping ErrMalformed. It does not check the proof or signature:
// CheckJoin does.
func UnmarshalJoinRequest(b []byte) (*JoinRequest, error) {
	r := newReader(b)
	readJoinVersion(r)
	req := new(JoinRequest)
	r.fixed("invite ID", req.Invite[:])
	pub := r.take("public keys", crypto.MemberPublicSize)
	req.Pseudonym = r.string16("pseudonym", MaxPseudonymBytes)
	r.fixed("proof", req.Proof[:])
	req.Signature = make([]byte, crypto.SignatureSize)
	r.fixed("signature", req.Signature)
	if r.err == nil {
		p, err := crypto.UnmarshalMemberPublic(pub)
		r.check("public keys", err)
		req.Public = p
		if n, err := ValidatePseudonym(req.Pseudonym); err != nil || n != req.Pseudonym {
			r.failf("pseudonym", "is not valid and trimmed")
		}
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return req, nil
}

// InviteState is the admin's record of an invite it issued: enough to check
// join requests, never enough to rebuild the invite string.
type InviteState struct {
	ID crypto.InviteID
	// AuthKey is crypto.InviteAuthKey of the invite: a secret.
	AuthKey [crypto.KeySize]byte
	// Expires is when the invite stops working, in unix seconds.
	Expires int64
	// UsesLeft is how many more people may join with it.
	UsesLeft uint16
	// Revoked is set when a host withdrew the invite.
	Revoked bool
	// Approval is set when joins with this invite wait in the waiting room
	// until a host admits them.
	Approval bool
}

// NewInviteState returns the admin's record of inv.
func NewInviteState(inv *crypto.Invite, approval bool) *InviteState {
	return &InviteState{
		ID:       inv.ID(),
		AuthKey:  crypto.InviteAuthKey(&inv.Secret, inv.Group),
		Expires:  inv.Expires,
		UsesLeft: inv.Uses,
		Approval: approval,
	}
}

// Use records one join with the invite. The node calls it once the joiner
// has been added (or admitted to the waiting room), and persists the
// record.
func (inv *InviteState) Use() {
	if inv.UsesLeft > 0 {
		inv.UsesLeft--
	}
}

// Wipe erases the auth key.
func (inv *InviteState) Wipe() { crypto.Wipe(inv.AuthKey[:]) }

// inviteStateFlags
const (
	inviteRevoked  = 1 << 0
	inviteApproval = 1 << 1
)

// Marshal encodes the record: version, ID (8), auth key (32), expiry (u64),
// uses left (u16), flags (bit 0 revoked, bit 1 approval). The result holds
// the auth key: store it sealed.
func (inv *InviteState) Marshal() []byte {
	var w writer
	w.u8(joinVersion)
	w.fixed(inv.ID[:])
	w.fixed(inv.AuthKey[:])
	w.u64(uint64(inv.Expires))
	w.u16(inv.UsesLeft)
	var flags uint8
	if inv.Revoked {
		flags |= inviteRevoked
	}
	if inv.Approval {
		flags |= inviteApproval
	}
	w.u8(flags)
	return w.b
}

// UnmarshalInviteState decodes what Marshal produces. It returns an error
// wrapping ErrMalformed.
func UnmarshalInviteState(b []byte) (*InviteState, error) {
	r := newReader(b)
	readJoinVersion(r)
	inv := new(InviteState)
	r.fixed("invite ID", inv.ID[:])
	r.fixed("auth key", inv.AuthKey[:])
	inv.Expires = int64(r.u64("expires"))
	inv.UsesLeft = r.u16("uses left")
	flags := r.u8("flags")
	if r.err == nil && flags&^(inviteRevoked|inviteApproval) != 0 {
		r.failf("flags", "unknown bits %#x", flags)
	}
	inv.Revoked = flags&inviteRevoked != 0
	inv.Approval = flags&inviteApproval != 0
	if err := r.finish(); err != nil {
		return nil, err
	}
	return inv, nil
}

// CheckJoin is the admin's decision on a join request at time now. t is the
// transcript the admin assembled itself (JoinRequest.Transcript with its
// own group, challenge and peer ID). It returns nil when the request may
// proceed (to the waiting room when inv.Approval is set), or:
//
//   - ErrInviteUnknown: no record, or the record is for another invite;
//   - ErrBadJoinProof: the transcript does not match the request, the proof
//     does not verify under the invite's key, or the signature is not the
//     joiner's over the transcript;
//   - ErrBadPseudonym: the pseudonym breaks the rules;
//   - ErrInviteRevoked, ErrInviteExpired, ErrInviteUsedUp.
//
// Security: the proof is checked before the invite's status, so someone
// who knows an invite ID but not its secret learns nothing about whether
// it is still valid. An unknown invite costs the same proof check (under a
// key nobody holds) and is reported to the joiner with the same wire code
// as a bad proof (JoinCodeFor), so invite IDs cannot be probed either;
// ErrInviteUnknown stays distinct here for the admin's own logs. CheckJoin
// does not count the use: call Use.
func CheckJoin(inv *InviteState, req *JoinRequest, t *crypto.JoinTranscript, now time.Time) error {
	if inv == nil || req.Invite != inv.ID || t.Invite != inv.ID {
		var none [crypto.KeySize]byte
		_ = crypto.VerifyJoinProof(&none, t, req.Proof[:])
		return ErrInviteUnknown
	}
	if t.Joiner != req.Public || t.Pseudonym != req.Pseudonym {
		return fmt.Errorf("%w: the transcript is not this request's", ErrBadJoinProof)
	}
	if err := crypto.VerifyJoinProof(&inv.AuthKey, t, req.Proof[:]); err != nil {
		return fmt.Errorf("%w: %w", ErrBadJoinProof, err)
	}
	if !req.Public.Verify(joinRequestPurpose, t.Bytes(), req.Signature) {
		return fmt.Errorf("%w: the signature is not the joiner's", ErrBadJoinProof)
	}
	if p, err := ValidatePseudonym(req.Pseudonym); err != nil {
		return err
	} else if p != req.Pseudonym {
		return fmt.Errorf("%w: the pseudonym is not trimmed", ErrBadPseudonym)
	}
	switch {
	case inv.Revoked:
		return ErrInviteRevoked
	case now.Unix() >= inv.Expires:
		return ErrInviteExpired
	case inv.UsesLeft == 0:
		return ErrInviteUsedUp
	}
	return nil
}

// JoinStatus is the outcome a JoinResponse reports.
type JoinStatus uint8

const (
	// JoinJoined: the joiner was added; the response carries its Welcome.
	JoinJoined JoinStatus = 1
	// JoinWaiting: the request waits for a host's approval; the admin will
	// answer again on the same stream, or the joiner retries later.
	JoinWaiting JoinStatus = 2
	// JoinDenied: a host declined the request.
	JoinDenied JoinStatus = 3
	// JoinRefused: the request failed a check; Code says which.
	JoinRefused JoinStatus = 4
)

// JoinCode says why a join was refused.
type JoinCode uint8

// Refusal codes. A code that a newer admin sends and this version does not
// know is reported as ErrJoinFailed.
const (
	CodeNone          JoinCode = 0
	CodeInviteUnknown JoinCode = 1
	CodeInviteExpired JoinCode = 2
	CodeInviteRevoked JoinCode = 3
	CodeInviteUsedUp  JoinCode = 4
	// CodeBadProof is never sent (see JoinCodeFor); it is decoded as
	// ErrBadJoinProof.
	CodeBadProof     JoinCode = 5
	CodeBadPseudonym JoinCode = 6
	CodeFailed       JoinCode = 7
)

// codeError returns the sentinel for a refusal code, nil for CodeNone and
// codes this version does not know.
func codeError(c JoinCode) error {
	switch c {
	case CodeInviteUnknown:
		return ErrInviteUnknown
	case CodeInviteExpired:
		return ErrInviteExpired
	case CodeInviteRevoked:
		return ErrInviteRevoked
	case CodeInviteUsedUp:
		return ErrInviteUsedUp
	case CodeBadProof:
		return ErrBadJoinProof
	case CodeBadPseudonym:
		return ErrBadPseudonym
	case CodeFailed:
		return ErrJoinFailed
	}
	return nil
}

// JoinCodeFor returns the refusal code for an error CheckJoin (or the
// admin's attempt to add the joiner) returned: CodeFailed for anything not
// listed. ErrBadJoinProof gets CodeInviteUnknown, like an invite the admin
// does not know: were they told apart on the wire, anyone could probe which
// invite IDs an admin has issued. CodeBadProof is never sent; a response
// carrying it (from an older admin) still decodes as ErrBadJoinProof.
func JoinCodeFor(err error) JoinCode {
	if errors.Is(err, ErrBadJoinProof) {
		return CodeInviteUnknown
	}
	for c := CodeInviteUnknown; c < CodeFailed; c++ {
		if errors.Is(err, codeError(c)) {
			return c
		}
	}
	return CodeFailed
}

// JoinResponse is the admin's answer.
type JoinResponse struct {
	Status JoinStatus
	// Code is set (not CodeNone) exactly when Status is JoinRefused.
	Code JoinCode
	// Welcome is set exactly when Status is JoinJoined.
	Welcome *Welcome
}

// Err returns nil for JoinJoined, and otherwise the error the joiner should
// see: ErrJoinDenied, the sentinel for the refusal code, or an error saying
// the request waits for approval.
func (resp *JoinResponse) Err() error {
	switch resp.Status {
	case JoinJoined:
		return nil
	case JoinWaiting:
		return errors.New("the request to join is waiting for a host's approval")
	case JoinDenied:
		return ErrJoinDenied
	}
	if err := codeError(resp.Code); err != nil {
		return err
	}
	return ErrJoinFailed
}

func (resp *JoinResponse) validate() error {
	switch resp.Status {
	case JoinJoined:
		if resp.Welcome == nil || resp.Code != CodeNone {
			return errors.New("a joined response carries a welcome and no code")
		}
	case JoinWaiting, JoinDenied:
		if resp.Welcome != nil || resp.Code != CodeNone {
			return errors.New("a waiting or denied response carries neither welcome nor code")
		}
	case JoinRefused:
		if resp.Welcome != nil || resp.Code == CodeNone {
			return errors.New("a refused response carries a code and no welcome")
		}
	default:
		return fmt.Errorf("status %d is not known", resp.Status)
	}
	return nil
}

// maxWelcomeSize bounds an encoded welcome: a version byte, the largest
// group state and the largest commit.
const maxWelcomeSize = 1 + maxStateSize + maxCommitSize

// Marshal encodes the response: version, status (u8), code (u8), and for
// JoinJoined the welcome (u32 length, then Welcome.Marshal).
func (resp *JoinResponse) Marshal() ([]byte, error) {
	if err := resp.validate(); err != nil {
		return nil, fmt.Errorf("hearth/protocol: join response: %w", err)
	}
	var w writer
	w.u8(joinVersion)
	w.u8(uint8(resp.Status))
	w.u8(uint8(resp.Code))
	if resp.Welcome != nil {
		b, err := resp.Welcome.Marshal()
		if err != nil {
			return nil, err
		}
		w.bytes32("welcome", b, maxWelcomeSize)
	}
	return w.finish()
}

// UnmarshalJoinResponse decodes what Marshal produces. A refusal code this
// version does not know is accepted (Err reports it as ErrJoinFailed). It
// returns an error wrapping ErrMalformed.
func UnmarshalJoinResponse(b []byte) (*JoinResponse, error) {
	r := newReader(b)
	readJoinVersion(r)
	resp := &JoinResponse{Status: JoinStatus(r.u8("status")), Code: JoinCode(r.u8("code"))}
	if r.err == nil && resp.Status == JoinJoined {
		wb := r.bytes32("welcome", maxWelcomeSize)
		if r.err == nil {
			w, err := UnmarshalWelcome(wb)
			r.check("welcome", err)
			resp.Welcome = w
		}
	}
	if r.err == nil {
		r.check("join response", resp.validate())
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return resp, nil
}
