package ledger

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
)

// Secrets at rest. Every key the store keeps (terminal master keys,
// working keys, issuer master keys, the PIN verification key) is sealed
// by the host master key through a Sealer; the store never holds one in
// clear. Each sealed value is bound to the record it belongs to by its
// additional authenticated data (the aad* functions below), so a sealed
// key copied into another record does not open.
//
// PINs are not stored at all: a card keeps PIN verification data, a
// per-card random salt and HMAC-SHA256 under the PIN verification key
// (PVK) of salt, PAN and PIN. Without the PVK, which is sealed, the data
// tells nothing about the PIN, not even by trying all 10^4 of them.

// Sealer seals secrets at rest under the host master key. The keys
// package's Ring implements it (a key file, an environment variable or a
// PKCS#11 token).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// ErrNoMasterKey is returned for an operation on secrets by a store
// opened without a Sealer.
var ErrNoMasterKey = errors.New("no host master key configured")

// Sizes of the PIN verification data.
const (
	pvkLen     = 32
	pinSaltLen = 16
	// PINDataLen is the length of a card's PIN verification data.
	PINDataLen = pinSaltLen + sha256.Size
)

func aadTMK(tid string) []byte  { return []byte("tmk/" + tid) }
func aadTPK(tid string) []byte  { return []byte("tpk/" + tid) }
func aadTAK(tid string) []byte  { return []byte("tak/" + tid) }
func aadIMK(prog string) []byte { return []byte("imk/" + prog) }
func aadPVK() []byte            { return []byte("pvk") }
func secretErr(what string, err error) error {
	return fmt.Errorf("ledger: %s: %w", what, err)
}

func (s *Store) sealer() (Sealer, error) {
	if s.opts.Sealer == nil {
		return nil, ErrNoMasterKey
	}
	return s.opts.Sealer, nil
}

func (s *Store) seal(what string, clear, aad []byte) ([]byte, error) {
	sl, err := s.sealer()
	if err != nil {
		return nil, secretErr(what, err)
	}
	b, err := sl.Seal(clear, aad)
	if err != nil {
		return nil, secretErr(what, err)
	}
	return b, nil
}

func (s *Store) open(what string, sealed, aad []byte) ([]byte, error) {
	sl, err := s.sealer()
	if err != nil {
		return nil, secretErr(what, err)
	}
	b, err := sl.Open(sealed, aad)
	if err != nil {
		return nil, secretErr(what, err)
	}
	return b, nil
}

// SealTMK seals a terminal master key for the terminal's record.
func (s *Store) SealTMK(tid string, clear []byte) ([]byte, error) {
	return s.seal("seal TMK of tid "+tid, clear, aadTMK(tid))
}

// SealIMK seals an issuer master key for the program's record.
func (s *Store) SealIMK(prog string, clear []byte) ([]byte, error) {
	return s.seal("seal IMK of program "+prog, clear, aadIMK(prog))
}

// SealWorkingKeys seals a terminal's fresh TPK and TAK for its state.
func (s *Store) SealWorkingKeys(tid string, tpk, tak []byte) (sealedTPK, sealedTAK []byte, err error) {
	if sealedTPK, err = s.seal("seal TPK of tid "+tid, tpk, aadTPK(tid)); err != nil {
		return nil, nil, err
	}
	if sealedTAK, err = s.seal("seal TAK of tid "+tid, tak, aadTAK(tid)); err != nil {
		return nil, nil, err
	}
	return sealedTPK, sealedTAK, nil
}

// TerminalMasterKey returns a terminal's clear TMK, or nil when it has none.
func (s *Store) TerminalMasterKey(t *Terminal) ([]byte, error) {
	if t.TMK == nil {
		return nil, nil
	}
	return s.open("open TMK of tid "+t.TID, t.TMK, aadTMK(t.TID))
}

// IssuerMasterKey returns a program's clear IMK, or nil when it has none.
func (s *Store) IssuerMasterKey(p *Program) ([]byte, error) {
	if p.IMK == nil {
		return nil, nil
	}
	return s.open("open IMK of program "+p.ID, p.IMK, aadIMK(p.ID))
}

// ClearWorkingKeys are a terminal's working keys in clear, for the
// gateway's in-memory key cache.
type ClearWorkingKeys struct {
	Gen      uint32
	TPK, TAK []byte
}

// WorkingKeyGen reads the generation of a terminal's committed working
// keys (0: never had any) without opening them: a cheap check of whether
// a cached copy is still current.
func (s *Store) WorkingKeyGen(tid string) (uint32, error) {
	v, err := s.dbGet(keyTermState(tid))
	if err != nil || v == nil {
		return 0, err
	}
	var st TerminalState
	if err := st.decode(v); err != nil {
		return 0, err
	}
	return st.KeyGen, nil
}

// WorkingKeys reads a terminal's committed working keys and opens them.
// It returns a zero value (Gen 0, nil keys) for a terminal without keys.
func (s *Store) WorkingKeys(tid string) (ClearWorkingKeys, error) {
	var st TerminalState
	v, err := s.dbGet(keyTermState(tid))
	if err != nil {
		return ClearWorkingKeys{}, err
	}
	if v == nil {
		return ClearWorkingKeys{}, nil
	}
	if err := st.decode(v); err != nil {
		return ClearWorkingKeys{}, err
	}
	if !st.HasKeys() {
		return ClearWorkingKeys{Gen: st.KeyGen}, nil
	}
	k := ClearWorkingKeys{Gen: st.KeyGen}
	if k.TPK, err = s.open("open TPK of tid "+tid, st.TPK, aadTPK(tid)); err != nil {
		return ClearWorkingKeys{}, err
	}
	if k.TAK, err = s.open("open TAK of tid "+tid, st.TAK, aadTAK(tid)); err != nil {
		return ClearWorkingKeys{}, err
	}
	return k, nil
}

// loadPVK opens the PIN verification key, making and storing one on the
// first start with a master key. It runs in Open, before the writer.
func (s *Store) loadPVK() error {
	if s.opts.Sealer == nil {
		return nil
	}
	v, err := s.dbGet(keyMetaPVK)
	if err != nil {
		return err
	}
	if v == nil {
		if s.opts.ReadOnly {
			return nil
		}
		pvk := make([]byte, pvkLen)
		if _, err := rand.Read(pvk); err != nil {
			return secretErr("make PIN verification key", err)
		}
		sealed, err := s.seal("seal PIN verification key", pvk, aadPVK())
		if err != nil {
			return err
		}
		if err := s.db.Set([]byte(keyMetaPVK), sealed, pebble.Sync); err != nil {
			return secretErr("store PIN verification key", err)
		}
		s.setPVK(pvk)
		return nil
	}
	pvk, err := s.open("open PIN verification key", v, aadPVK())
	if err != nil {
		return err
	}
	if len(pvk) != pvkLen {
		return secretErr("PIN verification key", errCorrupt)
	}
	s.setPVK(pvk)
	return nil
}

// setPVK makes pvk the store's PIN verification key, once, in Open.
func (s *Store) setPVK(pvk []byte) {
	s.pvk = pvk
	s.pinHashers.New = func() any { return &pinHasher{mac: hmac.New(sha256.New, pvk)} }
}

// PINData makes a card's PIN verification data for pin: a fresh salt
// and the keyed hash. The PIN itself is not kept.
func (s *Store) PINData(pan, pin string) ([]byte, error) {
	if s.pvk == nil {
		return nil, secretErr("PIN data of card "+cardnum.Mask(pan), ErrNoMasterKey)
	}
	out := make([]byte, pinSaltLen, PINDataLen)
	if _, err := rand.Read(out); err != nil {
		return nil, secretErr("PIN salt", err)
	}
	h := s.pinHashers.Get().(*pinHasher)
	defer s.putPINHasher(h)
	return append(out, h.sum(out, pan, pin)...), nil
}

// PINMatches reports whether pin is the PIN the card's verification data
// was made from, in constant time.
func (s *Store) PINMatches(pan, pin string, data []byte) bool {
	if s.pvk == nil || len(data) != PINDataLen {
		return false
	}
	h := s.pinHashers.Get().(*pinHasher)
	defer s.putPINHasher(h)
	return hmac.Equal(h.sum(data[:pinSaltLen], pan, pin), data[pinSaltLen:])
}

// pinHasher computes the keyed hash of PIN verification data with an HMAC
// prepared under the PVK. hmac.New hashes the key into both pads and
// allocates two SHA-256 states, on every call; a PIN check comes with
// every request that carries a PIN, so the store keeps prepared ones in
// a pool (Store.pinHashers: Get, then putPINHasher), and Reset brings
// one back to its keyed state without hashing the key again. With its
// message and sum buffers in it, a PIN check allocates nothing. A
// pinHasher is used by one goroutine between Get and put.
type pinHasher struct {
	mac hash.Hash
	// msg is the HMAC's input, salt ‖ len(PAN) PAN ‖ PIN, written in one
	// Write; room for the longest PAN and the longest PIN (12 digits, ISO
	// 9564 format 0) of contract section 7.
	msg [pinSaltLen + 1 + cardnum.MaxLen + 12]byte
	out [sha256.Size]byte
}

// sum returns HMAC-SHA256(PVK, salt ‖ len(PAN) PAN ‖ PIN), in h: valid
// until h is put back. It wipes the PIN from msg as soon as it is hashed.
func (h *pinHasher) sum(salt []byte, pan, pin string) []byte {
	msg := append(h.msg[:0], salt...)
	msg = append(msg, byte(len(pan)))
	msg = append(msg, pan...)
	msg = append(msg, pin...) // a longer PAN or PIN than msg holds moves it to the heap: still right
	h.mac.Write(msg)
	clear(msg) // the PIN, in clear, wherever append put it
	clear(h.msg[:])
	return h.mac.Sum(h.out[:0])
}

// putPINHasher returns h to the pool with nothing of the last PIN in it:
// the hash is zeroed and the HMAC reset to its keyed state (which holds
// only the PVK's pads, as every pinHasher does).
func (s *Store) putPINHasher(h *pinHasher) {
	clear(h.out[:])
	h.mac.Reset()
	s.pinHashers.Put(h)
}
