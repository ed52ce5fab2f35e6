// Package crypto is the cryptographic core of Hearth: the member's keystore,
// device and per-group identities, the epoch key schedule, per-sender hash
// ratchets, the envelope format that carries every group message, HPKE
// sealing of secrets to members, and invite tokens with their join proofs.
//
// It imports nothing of the rest of Hearth and nothing outside the standard
// library and golang.org/x/crypto. Every primitive it uses is wrapped once,
// in primitives.go, beside the reasoning for why that use is safe; every
// other file builds on those wrappers.
//
// Conventions that hold throughout the package:
//
//   - Every symmetric key is KeySize (32) bytes and every derivation uses
//     HKDF-SHA256 with a label that begins "hearth v1 " and is listed in
//     docs/PROTOCOL.md. No two uses share a label.
//   - Functions that need randomness take an io.Reader; nil means
//     crypto/rand. Keys are always built from seeds read from that reader,
//     so tests can produce known-answer vectors.
//   - Decoders are strict: a wrong length, an unknown version or trailing
//     bytes is an error, never a best effort. Decoders never panic.
//   - Secrets are compared in constant time and wiped with Wipe when the
//     code that holds them is done with them.
package crypto
