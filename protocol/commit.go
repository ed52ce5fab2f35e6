package protocol

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/hearthnet/hearth/crypto"
)

// A Change is one change inside a commit: Add, Remove, SetRole, or
// SetMailbox (mailbox.go).
type Change interface {
	// target is the member the change is about.
	target() crypto.MemberID
	encode(w *writer)
}

// Add adds a member with the given keys, pseudonym and role. The new member
// receives the roster's NextIndex and joins in the commit's epoch.
type Add struct {
	Public    crypto.MemberPublic
	Pseudonym string
	Role      Role
}

// Remove removes a member. Nobody commits their own removal: a member who
// leaves publishes a LeaveRequest (Session.Leave) and an admin commits the
// Remove, drawing the next epoch's secret. A leaver who drew it would know
// the keys of the epoch that was made to shut it out.
type Remove struct {
	Member crypto.MemberID
}

// SetRole changes a member's role.
type SetRole struct {
	Member crypto.MemberID
	Role   Role
}

func (c Add) target() crypto.MemberID     { return c.Public.ID() }
func (c Remove) target() crypto.MemberID  { return c.Member }
func (c SetRole) target() crypto.MemberID { return c.Member }

// Change kinds on the wire.
const (
	changeAdd     = 1
	changeRemove  = 2
	changeSetRole = 3
)

func (c Add) encode(w *writer) {
	w.u8(changeAdd)
	w.fixed(c.Public.Marshal())
	w.string16("pseudonym", c.Pseudonym, MaxPseudonymBytes)
	w.u8(uint8(c.Role))
}

func (c Remove) encode(w *writer) {
	w.u8(changeRemove)
	w.fixed(c.Member[:])
}

func (c SetRole) encode(w *writer) {
	w.u8(changeSetRole)
	w.fixed(c.Member[:])
	w.u8(uint8(c.Role))
}

// changeMinSize is the smallest encoded change (a Remove).
const changeMinSize = 1 + crypto.MemberIDSize

func decodeChange(r *reader) Change {
	switch kind := r.u8("change kind"); kind {
	case changeAdd:
		var c Add
		pub := r.take("added member's keys", crypto.MemberPublicSize)
		c.Pseudonym = r.string16("pseudonym", MaxPseudonymBytes)
		c.Role = Role(r.u8("role"))
		if r.err != nil {
			return nil
		}
		p, err := crypto.UnmarshalMemberPublic(pub)
		r.check("added member's keys", err)
		c.Public = p
		if n, err := ValidatePseudonym(c.Pseudonym); err != nil || n != c.Pseudonym {
			r.failf("pseudonym", "is not valid and trimmed")
		}
		if !c.Role.Valid() {
			r.failf("role", "%d is not a role", uint8(c.Role))
		}
		return c
	case changeRemove:
		var c Remove
		r.fixed("removed member", c.Member[:])
		return c
	case changeSetRole:
		var c SetRole
		r.fixed("member", c.Member[:])
		c.Role = Role(r.u8("role"))
		if r.err == nil && !c.Role.Valid() {
			r.failf("role", "%d is not a role", uint8(c.Role))
		}
		return c
	case changeSetMailbox:
		return decodeSetMailbox(r)
	default:
		if r.err == nil {
			r.failf("change kind", "%d is not known", kind)
		}
		return nil
	}
}

// SealedSecret is a secret HPKE-sealed to one member (see
// crypto.SealToMember).
type SealedSecret struct {
	To     crypto.MemberID
	Sealed []byte
}

// sealedSecretSize is the encoded size of a SealedSecret holding a 32-byte
// secret: ID, length prefix and sealed bytes.
const sealedSecretSize = crypto.MemberIDSize + 2 + 32 + 32 + 16

func encodeSealed(w *writer, s []SealedSecret, max int) {
	w.count16("sealed secrets", len(s), max)
	for _, x := range s {
		w.fixed(x.To[:])
		w.bytes16("sealed secret", x.Sealed, 0xFFFF)
	}
}

// decodeSealed reads a list of secrets sealed with kind, each of exactly the
// size that kind seals to.
func decodeSealed(r *reader, kind crypto.SecretKind, max int) []SealedSecret {
	n := r.count16("sealed secrets", max, crypto.MemberIDSize+2)
	if r.err != nil {
		return nil
	}
	out := make([]SealedSecret, 0, n)
	for range n {
		var s SealedSecret
		r.fixed("sealed to", s.To[:])
		s.Sealed = r.bytes16("sealed secret", kind.SealedSize())
		if r.err == nil && len(s.Sealed) != kind.SealedSize() {
			r.failf("sealed secret", "is %d bytes, want %d", len(s.Sealed), kind.SealedSize())
		}
		out = append(out, s)
	}
	return out
}

// MaxChanges is the most changes one commit may carry. With MaxMembers it
// bounds a commit to maxCommitSize bytes, which fits in one envelope.
const MaxChanges = 32

// maxCommitSize is the largest encoded commit: the fixed fields, MaxChanges
// adds with the longest pseudonyms, MaxMembers sealed secrets, a sealed
// mailbox capability and the signature. (A SetMailbox change is smaller
// than an Add with the longest pseudonym.)
const maxCommitSize = 1 + crypto.GroupIDSize + 32 + 8 + crypto.MemberIDSize +
	2 + MaxChanges*(1+crypto.MemberPublicSize+2+MaxPseudonymBytes+1) + 32 + 32 +
	2 + MaxMembers*sealedSecretSize + crypto.MailboxCapabilitySealedSize + crypto.SignatureSize

// commitVersion is the first byte of an encoded commit.
const commitVersion = 1

// commitPurpose is the signature purpose of a commit (see
// crypto.MemberCredential.Sign).
const commitPurpose = "commit"

// Commit moves a group from one epoch to the next. It names its parent,
// lists the roster changes, carries the new epoch secret sealed to every
// member of the new epoch, and is signed by its committer, who must be a
// member of the parent epoch with the right to make every change.
type Commit struct {
	Group crypto.GroupID
	// Parent is the CommitID of the commit that made the parent epoch, zero
	// when the parent is epoch 0.
	Parent [32]byte
	// Epoch is the new epoch: the parent epoch plus one.
	Epoch     uint64
	Committer crypto.MemberID
	Changes   []Change
	// State is StateHash of the state the commit makes: the committer
	// signs the whole resulting roster (roles, pseudonyms, keys) and
	// settings, not only who receives the secret.
	State [32]byte
	// SecretCommitment is crypto.CommitEpochSecret of the new epoch
	// secret: every recipient checks the secret it opens against it, so a
	// committer cannot give members different secrets under one commit.
	SecretCommitment [32]byte
	// Secrets holds the new epoch secret sealed (crypto.SecretEpoch, from
	// the committer) to each member of the new roster, in roster order.
	Secrets []SealedSecret
	// MailboxCapability is the new epoch's crypto.MailboxCapability sealed
	// to the mailbox the new state names (crypto.SealMailboxCapability),
	// present exactly when it names one. Members cannot check what it
	// holds (only the mailbox can open it); a committer who seals a wrong
	// one only keeps the mailbox from serving the epoch.
	MailboxCapability []byte
	// Signature is the committer's signature, purpose "commit", over the
	// encoded commit without the signature.
	Signature []byte
}

// Errors ApplyCommit returns (wrapped, with the reason).
var (
	// ErrWrongParent: the commit does not follow this state (another
	// group, an epoch other than the next one, or another parent).
	ErrWrongParent = errors.New("hearth/protocol: commit does not follow this epoch")
	// ErrBadCommitSignature: the signature is not the committer's.
	ErrBadCommitSignature = errors.New("hearth/protocol: commit signature does not verify")
	// ErrNotAllowed: the committer is not a member of the parent epoch, or
	// its role does not allow one of the changes.
	ErrNotAllowed = errors.New("hearth/protocol: committer may not make this change")
	// ErrBadChange: a change does not apply to the roster (adding a member
	// twice, removing or changing an absent member, a role change that
	// changes nothing, a member touched twice in one commit, no changes).
	ErrBadChange = errors.New("hearth/protocol: change does not apply")
	// ErrLastHost: a change would leave the group without a host.
	ErrLastHost = errors.New("hearth/protocol: the group must keep at least one host")
	// ErrRosterFull: an add would take the roster past MaxMembers.
	ErrRosterFull = errors.New("hearth/protocol: the group is full")
	// ErrBadSecrets: the sealed secrets do not cover exactly the new
	// roster, in roster order, or the sealed mailbox capability is missing
	// for a state with a mailbox (or present for one without).
	ErrBadSecrets = errors.New("hearth/protocol: commit secrets do not match the new roster")
)

// body encodes everything the signature covers.
func (c *Commit) body() ([]byte, error) {
	var w writer
	if c.MailboxCapability != nil {
		w.u8(commitMailboxVersion)
	} else {
		w.u8(commitVersion)
	}
	w.fixed(c.Group[:])
	w.fixed(c.Parent[:])
	w.u64(c.Epoch)
	w.fixed(c.Committer[:])
	w.count16("changes", len(c.Changes), MaxChanges)
	for _, ch := range c.Changes {
		if ch == nil {
			w.fail(errors.New("hearth/protocol: nil change"))
			break
		}
		ch.encode(&w)
	}
	w.fixed(c.State[:])
	w.fixed(c.SecretCommitment[:])
	encodeSealed(&w, c.Secrets, MaxMembers)
	if c.MailboxCapability != nil {
		if len(c.MailboxCapability) != crypto.MailboxCapabilitySealedSize {
			w.fail(fmt.Errorf("%w: sealed mailbox capability of %d bytes", ErrBadMailbox, len(c.MailboxCapability)))
		}
		w.fixed(c.MailboxCapability)
	}
	return w.finish()
}

// StateHash returns SHA-256 of s encoded as GroupState.Marshal encodes it,
// with the LastCommit field replaced by 32 zero bytes (the commit that
// makes a state cannot hold its own ID). It is what Commit.State holds.
func StateHash(s *GroupState) [32]byte {
	c := *s
	c.LastCommit = [32]byte{}
	var w writer
	c.encode(&w)
	return sha256.Sum256(w.b)
}

// Marshal encodes the signed commit (see docs/PROTOCOL.md, "Commit"). It
// fails only when the commit breaks a size limit or has no signature.
func (c *Commit) Marshal() ([]byte, error) {
	b, err := c.body()
	if err != nil {
		return nil, err
	}
	if len(c.Signature) != crypto.SignatureSize {
		return nil, fmt.Errorf("hearth/protocol: commit signature is %d bytes, want %d", len(c.Signature), crypto.SignatureSize)
	}
	return append(b, c.Signature...), nil
}

func decodeCommit(r *reader) *Commit {
	v := r.u8("commit version")
	if r.err == nil && v != commitVersion && v != commitMailboxVersion {
		r.failf("commit version", "%d is not supported", v)
	}
	c := new(Commit)
	r.fixed("group", c.Group[:])
	r.fixed("parent", c.Parent[:])
	c.Epoch = r.u64("epoch")
	r.fixed("committer", c.Committer[:])
	n := r.count16("changes", MaxChanges, changeMinSize)
	for i := 0; i < n && r.err == nil; i++ {
		c.Changes = append(c.Changes, decodeChange(r))
	}
	r.fixed("state hash", c.State[:])
	r.fixed("secret commitment", c.SecretCommitment[:])
	c.Secrets = decodeSealed(r, crypto.SecretEpoch, MaxMembers)
	if v == commitMailboxVersion {
		c.MailboxCapability = make([]byte, crypto.MailboxCapabilitySealedSize)
		r.fixed("sealed mailbox capability", c.MailboxCapability)
	}
	c.Signature = make([]byte, crypto.SignatureSize)
	r.fixed("signature", c.Signature)
	if r.err != nil {
		return nil
	}
	return c
}

// UnmarshalCommit decodes what Marshal produces. It checks the layout only
// (every field in range, no trailing bytes); whether the commit is valid
// depends on the state it applies to, which ApplyCommit checks. It returns
// an error wrapping ErrMalformed.
func UnmarshalCommit(b []byte) (*Commit, error) {
	r := newReader(b)
	c := decodeCommit(r)
	if err := r.finish(); err != nil {
		return nil, err
	}
	return c, nil
}

// ID returns the commit's ID: SHA-256 of its encoding (Marshal). Ed25519
// signatures as Go verifies them are not malleable, so one commit has one
// ID. It returns an error only when the commit cannot be encoded.
func (c *Commit) ID() ([32]byte, error) {
	b, err := c.Marshal()
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// applyChanges applies changes, in order, to a copy of s's roster for a new
// epoch, on behalf of committer (a member of s). It returns the new state
// (with Epoch set, LastCommit not yet) or the first rule broken:
//
//   - at least one and at most MaxChanges changes, each about a different
//     member (ErrBadChange);
//   - plain members make no commits, and no committer removes itself
//     (ErrNotAllowed): leaving is a LeaveRequest that an admin answers;
//   - moderators may add plain members and remove plain members; only
//     hosts may add or remove moderators and hosts and change roles
//     (ErrNotAllowed);
//   - an added member must not be in the roster, with a valid, trimmed
//     pseudonym and a valid role; a removed or re-roled member must be in
//     the roster, and a role change must change the role (ErrBadChange);
//   - after every change the roster holds at least one host (ErrLastHost)
//     and at most MaxMembers members (ErrRosterFull).
//
// Roles are those of the parent epoch: a committer who promotes someone
// does not gain rights from it within the same commit.
func applyChanges(s *GroupState, committer Member, changes []Change) (*GroupState, error) {
	if len(changes) == 0 || len(changes) > MaxChanges {
		return nil, fmt.Errorf("%w: a commit carries 1 to %d changes, this one %d", ErrBadChange, MaxChanges, len(changes))
	}
	if s.Epoch == math.MaxUint64 {
		// Unreachable by honest use, but an imported state can claim it:
		// the next epoch number would wrap around to 0.
		return nil, fmt.Errorf("%w: the group has used up its epoch numbers", ErrWrongParent)
	}
	next := s.Clone()
	next.Epoch = s.Epoch + 1
	touched := make(map[crypto.MemberID]bool, len(changes))
	for i, ch := range changes {
		if ch == nil {
			return nil, fmt.Errorf("%w: change %d is empty", ErrBadChange, i)
		}
		id := ch.target()
		if touched[id] {
			return nil, fmt.Errorf("%w: change %d touches member %s a second time", ErrBadChange, i, id)
		}
		touched[id] = true
		if err := applyChange(next, committer, ch); err != nil {
			return nil, fmt.Errorf("change %d: %w", i, err)
		}
	}
	return next, nil
}

// applyChange applies one change to next in place, checking the rules
// listed at applyChanges.
func applyChange(next *GroupState, committer Member, ch Change) error {
	switch c := ch.(type) {
	case Add:
		if !committer.Role.IsAdmin() {
			return fmt.Errorf("%w: only hosts and moderators add members", ErrNotAllowed)
		}
		if c.Role != RoleMember && committer.Role != RoleHost {
			return fmt.Errorf("%w: only hosts add %ss", ErrNotAllowed, c.Role)
		}
		if !c.Role.Valid() {
			return fmt.Errorf("%w: %v", ErrBadChange, c.Role)
		}
		if p, err := ValidatePseudonym(c.Pseudonym); err != nil || p != c.Pseudonym {
			return fmt.Errorf("%w: the pseudonym %q is not valid and trimmed", ErrBadChange, c.Pseudonym)
		}
		id := c.Public.ID()
		if _, ok := next.MemberByID(id); ok {
			return fmt.Errorf("%w: %s is already a member", ErrBadChange, id)
		}
		if len(next.Roster) >= MaxMembers || next.NextIndex == ^uint32(0) {
			return ErrRosterFull
		}
		next.Roster = append(next.Roster, Member{
			Index:     next.NextIndex,
			ID:        id,
			Public:    c.Public,
			Pseudonym: c.Pseudonym,
			Role:      c.Role,
			Joined:    next.Epoch,
		})
		next.NextIndex++
	case Remove:
		i := rosterPos(next, c.Member)
		if i < 0 {
			return fmt.Errorf("%w: %s is not a member", ErrBadChange, c.Member)
		}
		target := next.Roster[i]
		if c.Member == committer.ID {
			return fmt.Errorf("%w: nobody commits their own removal; a member leaves with a leave request", ErrNotAllowed)
		}
		if !committer.Role.IsAdmin() {
			return fmt.Errorf("%w: only hosts and moderators remove members", ErrNotAllowed)
		}
		if target.Role != RoleMember && committer.Role != RoleHost {
			return fmt.Errorf("%w: only hosts remove %ss", ErrNotAllowed, target.Role)
		}
		next.Roster = append(next.Roster[:i:i], next.Roster[i+1:]...)
	case SetRole:
		if committer.Role != RoleHost {
			return fmt.Errorf("%w: only hosts change roles", ErrNotAllowed)
		}
		if !c.Role.Valid() {
			return fmt.Errorf("%w: %v", ErrBadChange, c.Role)
		}
		i := rosterPos(next, c.Member)
		if i < 0 {
			return fmt.Errorf("%w: %s is not a member", ErrBadChange, c.Member)
		}
		if next.Roster[i].Role == c.Role {
			return fmt.Errorf("%w: %s is already a %s", ErrBadChange, c.Member, c.Role)
		}
		next.Roster[i].Role = c.Role
	case SetMailbox:
		if err := applySetMailbox(next, committer, c); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: unknown change %T", ErrBadChange, ch)
	}
	if next.Hosts() == 0 {
		return ErrLastHost
	}
	return nil
}

func rosterPos(s *GroupState, id crypto.MemberID) int {
	for i, m := range s.Roster {
		if m.ID == id {
			return i
		}
	}
	return -1
}

// ApplyCommit validates c against s and returns the state of the epoch c
// makes. It never changes s. A commit is valid when:
//
//   - it is for s's group, its Epoch is s.Epoch+1 and its Parent is
//     s.LastCommit (ErrWrongParent);
//   - its committer is a member of s and the signature is the committer's
//     (ErrNotAllowed, ErrBadCommitSignature);
//   - its changes follow the rules of the roster (see docs/PROTOCOL.md;
//     ErrNotAllowed, ErrBadChange, ErrLastHost, ErrRosterFull), and its
//     State is the StateHash of the state they make (ErrBadChange);
//   - its secrets are sealed to exactly the members of the new roster, one
//     each, in roster order (ErrBadSecrets).
//
// Whether each sealed secret actually opens only its recipient can tell
// (OpenCommitSecret).
func (s *GroupState) ApplyCommit(c *Commit) (*GroupState, error) {
	if c.Group != s.ID {
		return nil, fmt.Errorf("%w: commit is for another group", ErrWrongParent)
	}
	if c.Epoch != s.Epoch+1 || c.Parent != s.LastCommit {
		return nil, fmt.Errorf("%w: commit makes epoch %d, this state is epoch %d", ErrWrongParent, c.Epoch, s.Epoch)
	}
	committer, ok := s.MemberByID(c.Committer)
	if !ok {
		return nil, fmt.Errorf("%w: committer %s is not a member", ErrNotAllowed, c.Committer)
	}
	body, err := c.body()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadChange, err)
	}
	if !committer.Public.Verify(commitPurpose, body, c.Signature) {
		return nil, ErrBadCommitSignature
	}
	next, err := applyChanges(s, committer, c.Changes)
	if err != nil {
		return nil, err
	}
	if StateHash(next) != c.State {
		return nil, fmt.Errorf("%w: the signed state hash is not that of the state the changes make", ErrBadChange)
	}
	if len(c.Secrets) != len(next.Roster) {
		return nil, fmt.Errorf("%w: %d secrets for %d members", ErrBadSecrets, len(c.Secrets), len(next.Roster))
	}
	for i, m := range next.Roster {
		if c.Secrets[i].To != m.ID {
			return nil, fmt.Errorf("%w: secret %d is not for member %d", ErrBadSecrets, i, m.Index)
		}
		if len(c.Secrets[i].Sealed) != crypto.SecretEpoch.SealedSize() {
			return nil, fmt.Errorf("%w: secret %d has the wrong size", ErrBadSecrets, i)
		}
	}
	if (next.Mailbox != nil) != (c.MailboxCapability != nil) {
		return nil, fmt.Errorf("%w: a commit carries a mailbox capability exactly when its state names a mailbox", ErrBadSecrets)
	}
	next.LastCommit, err = c.ID()
	if err != nil {
		return nil, err
	}
	return next, nil
}

// NewCommit builds and signs a commit that applies changes to state on
// behalf of committer, drawing a fresh epoch secret from r (crypto/rand when
// nil) and sealing it to every member of the new epoch (the committer
// included). It returns the commit and the new epoch secret, which the
// caller must wipe when done. It returns the errors ApplyCommit would.
func NewCommit(state *GroupState, committer *crypto.MemberCredential, changes []Change, r io.Reader) (*Commit, *crypto.EpochSecret, error) {
	me, ok := state.MemberByID(committer.ID())
	if !ok {
		return nil, nil, fmt.Errorf("%w: committer is not a member", ErrNotAllowed)
	}
	next, err := applyChanges(state, me, changes)
	if err != nil {
		return nil, nil, err
	}
	return buildCommit(state, next, committer, changes, r)
}

// buildCommit draws an epoch secret and builds and signs the commit by
// committer that takes state to next with changes, which the caller has
// checked make next.
func buildCommit(state, next *GroupState, committer *crypto.MemberCredential, changes []Change, r io.Reader) (*Commit, *crypto.EpochSecret, error) {
	secret, err := crypto.NewEpochSecret(r)
	if err != nil {
		return nil, nil, err
	}
	c := &Commit{
		Group:     state.ID,
		Parent:    state.LastCommit,
		Epoch:     next.Epoch,
		Committer: committer.ID(),
		Changes:   append([]Change(nil), changes...),
		State:     StateHash(next),
	}
	c.SecretCommitment = crypto.CommitEpochSecret(secret)
	for _, m := range next.Roster {
		sealed, err := crypto.SealToMember(m.Public, c.Committer, crypto.SecretEpoch, state.ID, next.Epoch, secret[:])
		if err != nil {
			secret.Wipe()
			return nil, nil, err
		}
		c.Secrets = append(c.Secrets, SealedSecret{To: m.ID, Sealed: sealed})
	}
	if next.Mailbox != nil {
		keys := crypto.DeriveEpochKeys(state.ID, next.Epoch, secret)
		capability := keys.MailboxCapability()
		keys.Wipe()
		c.MailboxCapability, err = crypto.SealMailboxCapability(next.Mailbox.Key, state.ID, next.Epoch, &capability)
		capability.Wipe()
		if err != nil {
			secret.Wipe()
			return nil, nil, err
		}
	}
	body, err := c.body()
	if err != nil {
		secret.Wipe()
		return nil, nil, err
	}
	c.Signature = committer.Sign(commitPurpose, body)
	return c, secret, nil
}

// ErrMisbehaved is wrapped by a *MisbehaviorError: an authentic message
// whose author signed something self-contradictory (a secret or chain key
// that is not the one it committed to). The peer that forwarded it did
// nothing wrong (it may not even be able to tell), so the node must not
// penalise it (gossipsub ValidationIgnore); it should tell the group's
// admins who misbehaved.
var ErrMisbehaved = errors.New("hearth/protocol: a member sent inconsistent secrets")

// MisbehaviorError names the member who misbehaved and how. It wraps
// ErrMisbehaved.
type MisbehaviorError struct {
	// Author is the member who signed the inconsistent message: a commit's
	// committer, an announcement's author.
	Author crypto.MemberID
	// Epoch is the epoch the message makes (a commit) or is for (an
	// announcement).
	Epoch  uint64
	Reason string
}

func (e *MisbehaviorError) Error() string {
	return fmt.Sprintf("hearth/protocol: member %s misbehaved in epoch %d: %s", e.Author, e.Epoch, e.Reason)
}

// Unwrap returns ErrMisbehaved.
func (e *MisbehaviorError) Unwrap() error { return ErrMisbehaved }

// ErrNotRecipient is returned when a commit or announcement holds no secret
// sealed to this member.
var ErrNotRecipient = errors.New("hearth/protocol: no secret sealed to this member")

// OpenCommitSecret opens the epoch secret c sealed to me. It returns
// ErrNotRecipient when c seals nothing to me (I am not in the new epoch),
// crypto.ErrDecrypt (wrapped) when the sealed secret does not open, and a
// *MisbehaviorError (wrapping ErrMisbehaved) naming the committer when the
// secret opens but is not the one c.SecretCommitment commits to: the
// committer sealed different secrets to different members. The caller must
// wipe the secret when done.
func OpenCommitSecret(c *Commit, me *crypto.MemberCredential) (*crypto.EpochSecret, error) {
	id := me.ID()
	for _, s := range c.Secrets {
		if s.To != id {
			continue
		}
		b, err := me.OpenSealed(c.Committer, crypto.SecretEpoch, c.Group, c.Epoch, s.Sealed)
		if err != nil {
			return nil, fmt.Errorf("hearth/protocol: opening the epoch %d secret: %w", c.Epoch, err)
		}
		var secret crypto.EpochSecret
		copy(secret[:], b)
		crypto.Wipe(b)
		want := crypto.CommitEpochSecret(&secret)
		if !crypto.Equal(want[:], c.SecretCommitment[:]) {
			secret.Wipe()
			return nil, &MisbehaviorError{Author: c.Committer, Epoch: c.Epoch,
				Reason: "the epoch secret sealed to this member is not the one the commit commits to"}
		}
		return &secret, nil
	}
	return nil, ErrNotRecipient
}

// ForkWinnerIn decides between two valid commits a and b with the same
// parent, whose state is parent. The first rule that tells them apart
// decides:
//
//  1. A commit that removes the other commit's committer, or lowers its
//     role, wins. (When each does that to the other, the rule is a tie.)
//  2. The commit whose committer has the higher role in the parent epoch
//     wins: a host's beats a moderator's.
//  3. The commit whose CommitID is lexicographically smaller wins.
//
// Every member applies the same rules to the same two commits and the same
// parent, so all converge on one chain whatever order the commits arrived
// in. A commit that cannot be encoded (and so cannot be valid) always
// loses.
//
// Security: the CommitID is the only part a committer controls freely (by
// re-drawing the epoch secret), so rules 1 and 2 come first. A member whom
// a rival commit removes (or demotes) can no longer answer it with a
// commit of its own that wins, however many IDs it grinds: it cannot stay
// in the group, readmit itself, or choose the next epoch's secret. Only
// between two committers of equal role, neither of whom demotes or removes
// the other (or who remove each other), can grinding decide, and then the
// winner was as entitled to its changes as the loser, whose still-valid
// changes are re-applied (RebaseChanges).
func ForkWinnerIn(parent *GroupState, a, b *Commit) *Commit {
	ida, errA := a.ID()
	idb, errB := b.ID()
	switch {
	case errA != nil:
		return b
	case errB != nil:
		return a
	}
	ra, rb := committerRole(parent, a), committerRole(parent, b)
	aOusts, bOusts := ousts(a, b.Committer, rb), ousts(b, a.Committer, ra)
	switch {
	case aOusts && !bOusts:
		return a
	case bOusts && !aOusts:
		return b
	case ra > rb:
		return a
	case rb > ra:
		return b
	case bytes.Compare(idb[:], ida[:]) < 0:
		return b
	}
	return a
}

// ForkWinner is ForkWinnerIn without the parent state: it cannot rank the
// committers by role, so it applies rules 1 (for removals only) and 3.
//
// Deprecated: a moderator's commit can beat a host's under it. Use
// ForkWinnerIn, as Session does.
func ForkWinner(a, b *Commit) *Commit { return ForkWinnerIn(nil, a, b) }

// committerRole returns the role of c's committer in parent, 0 when parent
// is nil or does not list it.
func committerRole(parent *GroupState, c *Commit) Role {
	if parent == nil {
		return 0
	}
	m, ok := parent.MemberByID(c.Committer)
	if !ok {
		return 0
	}
	return m.Role
}

// ousts reports whether c removes member id, or sets its role below role.
func ousts(c *Commit, id crypto.MemberID, role Role) bool {
	for _, ch := range c.Changes {
		switch ch := ch.(type) {
		case Remove:
			if ch.Member == id {
				return true
			}
		case SetRole:
			if ch.Member == id && role != 0 && ch.Role < role {
				return true
			}
		}
	}
	return false
}

// RebaseChanges returns the changes of the losing commit of a fork that
// still apply on top of the winner's state, for the loser's committer to
// commit again. Changes are taken in order and each one is kept only if it
// applies, under the rules of ApplyCommit, to the winner's state with the
// changes kept before it: an add of someone the winner already added, a
// removal of someone the winner already removed, or a change the committer
// may no longer make (because the winner changed its role) is dropped. If
// the loser's committer is not a member of the winner's state, nothing is
// returned. The result may be empty.
func RebaseChanges(loser *Commit, winnerState *GroupState) []Change {
	committer, ok := winnerState.MemberByID(loser.Committer)
	if !ok {
		return nil
	}
	work := winnerState.Clone()
	var kept []Change
	touched := make(map[crypto.MemberID]bool, len(loser.Changes))
	for _, ch := range loser.Changes {
		if ch == nil || touched[ch.target()] || len(kept) == MaxChanges {
			continue
		}
		touched[ch.target()] = true
		try := work.Clone()
		if err := applyChange(try, committer, ch); err != nil {
			continue
		}
		work = try
		kept = append(kept, ch)
	}
	return kept
}
