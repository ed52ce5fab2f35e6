package protocol

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/hearthnet/hearth/crypto"
)

// ContentType is the first byte of every content: what the rest of the
// bytes are. A type's layout never changes; a new layout gets a new number.
//
// Numbers in use (community.go defines all but the first four):
//
//	0x01 Post                  application
//	0x02 ChainKeyAnnouncement  control
//	0x03 CommitContent         control
//	0x04 LeaveRequest          control
//	0x11 Edit (by the author)  application
//	0x12 Delete (by the author) application
//	0x13 Tombstone (removal by a host or moderator) application
//	0x14 Guidelines (pinned by a host or moderator) application
//	0x20 Meeting (schedule)    application
//	0x21 MeetingEvent (live room) application
//	0x32 SOS                   application
//	0x33 Report (sealed to hosts and moderators) application
//	0x34 Addresses (the author's node addresses) application
//	0x35 SOSReply              application
//	0x36 Note (sealed to one member) application
//
// Numbers reserved for content defined later (a decoder of this version
// reports them as ErrUnknownContent): 0x10 reaction, 0x30 check-in,
// 0x31 milestone (both shared today as posts).
//
// 0x00 is never a content type. Control types travel in control envelopes
// (sealed with the epoch's control key, generation crypto.ControlGeneration);
// all other types travel under the author's sender chain.
type ContentType uint8

// Content types defined by this version.
const (
	TypePost                 ContentType = 0x01
	TypeChainKeyAnnouncement ContentType = 0x02
	TypeCommit               ContentType = 0x03
	TypeLeaveRequest         ContentType = 0x04
)

// Control reports whether content of type t travels in control envelopes.
func (t ContentType) Control() bool {
	return t == TypeChainKeyAnnouncement || t == TypeCommit || t == TypeLeaveRequest
}

// Content is what an envelope carries: Post, ChainKeyAnnouncement,
// CommitContent, LeaveRequest, or one of the community types of
// community.go.
type Content interface {
	// Type returns the content's type byte.
	Type() ContentType
	encode(w *writer)
}

// ErrUnknownContent is returned (wrapped) when content has a type byte this
// version does not know: most likely content from a newer Hearth.
var ErrUnknownContent = errors.New("hearth/protocol: content type not known to this version")

// ErrBadPost is returned (wrapped, with the reason) when a post breaks the
// rules of Post.
var ErrBadPost = errors.New("hearth/protocol: post not allowed")

// MaxPostText is the most bytes of text one post may carry.
const MaxPostText = 16 * 1024

// Post is a message to the group, or a reply to one.
type Post struct {
	// ID names the post for replies and (later) reactions, edits and
	// deletions. It is random and never zero.
	ID [16]byte
	// ReplyTo is the ID of the post this one answers, zero if none.
	ReplyTo [16]byte
	// Text is 1 to MaxPostText bytes of valid UTF-8.
	Text string
}

// Type returns TypePost.
func (Post) Type() ContentType { return TypePost }

// Validate checks the rules of Post and returns ErrBadPost (wrapped) for
// the first one broken.
func (p *Post) Validate() error {
	switch {
	case p.ID == [16]byte{}:
		return fmt.Errorf("%w: the post has no ID", ErrBadPost)
	case p.ReplyTo == p.ID:
		return fmt.Errorf("%w: a post cannot reply to itself", ErrBadPost)
	case len(p.Text) == 0:
		return fmt.Errorf("%w: the text is empty", ErrBadPost)
	case len(p.Text) > MaxPostText:
		return fmt.Errorf("%w: the text is %d bytes, at most %d are allowed", ErrBadPost, len(p.Text), MaxPostText)
	case !utf8.ValidString(p.Text):
		return fmt.Errorf("%w: the text is not valid UTF-8", ErrBadPost)
	}
	return nil
}

func (p Post) encode(w *writer) {
	if err := p.Validate(); err != nil {
		w.fail(err)
		return
	}
	w.fixed(p.ID[:])
	w.fixed(p.ReplyTo[:])
	w.string16("post text", p.Text, MaxPostText)
}

func decodePost(r *reader) Post {
	var p Post
	r.fixed("post ID", p.ID[:])
	r.fixed("reply to", p.ReplyTo[:])
	p.Text = r.string16("post text", MaxPostText)
	if r.err == nil {
		r.check("post", p.Validate())
	}
	return p
}

// ChainKeyAnnouncement is a member's sender chain key for one epoch, sealed
// (crypto.SecretChainKey, from the author) to each other member of that
// epoch, in roster order. A member sends it on entering an epoch, in a
// control envelope of that epoch.
type ChainKeyAnnouncement struct {
	Epoch uint64
	// Commitment is crypto.CommitChainKey of the chain key: each recipient
	// checks the key it opens against it, so the author cannot give
	// members different keys (and so different content under one
	// generation).
	Commitment [32]byte
	Sealed     []SealedSecret
}

// Type returns TypeChainKeyAnnouncement.
func (ChainKeyAnnouncement) Type() ContentType { return TypeChainKeyAnnouncement }

func (a ChainKeyAnnouncement) encode(w *writer) {
	w.u64(a.Epoch)
	w.fixed(a.Commitment[:])
	encodeSealed(w, a.Sealed, MaxMembers-1)
}

func decodeAnnouncement(r *reader) ChainKeyAnnouncement {
	var a ChainKeyAnnouncement
	a.Epoch = r.u64("announcement epoch")
	r.fixed("chain key commitment", a.Commitment[:])
	a.Sealed = decodeSealed(r, crypto.SecretChainKey, MaxMembers-1)
	return a
}

// CommitContent carries a commit, in a control envelope of the commit's
// parent epoch.
type CommitContent struct {
	Commit *Commit
}

// Type returns TypeCommit.
func (CommitContent) Type() ContentType { return TypeCommit }

func (c CommitContent) encode(w *writer) {
	if c.Commit == nil {
		w.fail(errors.New("hearth/protocol: commit content without a commit"))
		return
	}
	b, err := c.Commit.Marshal()
	if err != nil {
		w.fail(err)
		return
	}
	w.fixed(b)
}

// LeaveRequest is a member's signed request to be removed from the group,
// in a control envelope of the epoch it names (Session.Leave). It carries
// no secret: a host or moderator who opens it commits the Remove, drawing
// the next epoch's secret itself, so the leaver never learns it.
type LeaveRequest struct {
	// Epoch is the epoch the request is sealed in; a request is for the
	// member's membership as that epoch's roster lists it.
	Epoch uint64
}

// Type returns TypeLeaveRequest.
func (LeaveRequest) Type() ContentType { return TypeLeaveRequest }

func (l LeaveRequest) encode(w *writer) { w.u64(l.Epoch) }

// MarshalContent encodes c: its type byte, then its fields (see
// docs/PROTOCOL.md, "Content"). It returns ErrBadPost (wrapped) for a post
// that breaks its rules, and an error for content over a size limit.
func MarshalContent(c Content) ([]byte, error) {
	if c == nil {
		return nil, errors.New("hearth/protocol: no content")
	}
	var w writer
	w.u8(uint8(c.Type()))
	c.encode(&w)
	return w.finish()
}

// UnmarshalContent decodes what MarshalContent produces. It returns
// ErrUnknownContent (wrapped) for a type byte this version does not define,
// and ErrMalformed (wrapped) for anything else that is not exactly one
// well-formed content. A CommitContent is checked for layout only; whether
// the commit is valid depends on the group state (GroupState.ApplyCommit).
func UnmarshalContent(b []byte) (Content, error) {
	r := newReader(b)
	var c Content
	switch t := ContentType(r.u8("content type")); {
	case r.err != nil:
	case t == TypePost:
		c = decodePost(r)
	case t == TypeChainKeyAnnouncement:
		c = decodeAnnouncement(r)
	case t == TypeCommit:
		c = CommitContent{Commit: decodeCommit(r)}
	case t == TypeLeaveRequest:
		c = LeaveRequest{Epoch: r.u64("leave request epoch")}
	case t == 0:
		r.failf("content type", "0 is never a content type")
	default:
		var ok bool
		if c, ok = decodeCommunity(t, r); !ok {
			return nil, fmt.Errorf("%w: type 0x%02x", ErrUnknownContent, uint8(t))
		}
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return c, nil
}
