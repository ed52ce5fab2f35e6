// Package hearth is the root of Hearth, an end-to-end-encrypted peer network
// for recovery and peer-support communities. It holds no code of its own;
// it documents the layout and keeps the layering honest (layering_test.go).
//
// The packages, from the bottom up:
//
//	crypto     keystore, identities, key schedule, sender chains, envelopes,
//	           HPKE sealing to members, invites. Imports nothing of Hearth.
//	storage    the encrypted Badger store. Imports crypto only.
//	protocol   wire formats and pure group state machines. Imports crypto.
//	node       the embeddable library: libp2p host, gossipsub, streams,
//	           storage, timers. Imports protocol, crypto and storage.
//	api        the local HTTP API, its Go client and the web UI. Imports node
//	           and the packages below it, except storage.
//	cmd/hearth the binary. Imports anything above; nothing imports it.
package hearth
