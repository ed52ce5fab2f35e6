// Package protocol holds Hearth's wire formats and the pure state machine a
// member runs for each group: the roster and its epochs, commits that move a
// group from one epoch to the next, the typed content carried inside
// envelopes, the join exchange, and Session, which turns received bytes into
// events and the member's intentions into bytes to publish.
//
// The package does no I/O. It opens no sockets and files, starts no
// goroutines and never reads a clock: the caller (the node package) passes
// in the bytes it received, the current time and a source of randomness,
// and persists and publishes what comes back. Everything here can therefore
// be tested exhaustively in memory, and a second implementation can be
// checked against the known-answer vectors in testdata/.
//
// Conventions that hold throughout the package:
//
//   - Every message is a fixed binary layout (big-endian integers,
//     length-prefixed byte strings with explicit maximums) described in
//     docs/PROTOCOL.md. Decoders are strict: they reject a wrong length, a
//     value out of range, an unknown version or kind, and trailing bytes,
//     with an error wrapping ErrMalformed, and they never panic.
//   - Functions that need randomness take an io.Reader; nil means
//     crypto/rand.
//   - State transitions are pure: ApplyCommit returns a new GroupState and
//     never changes the one it was called on; Session.Open leaves the
//     session unchanged when it returns an error.
//
// protocol imports only the standard library and Hearth's crypto package.
package protocol
