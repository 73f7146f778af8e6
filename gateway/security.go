package gateway

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
)

// The security step of contract section 7. It runs on the connection's
// reader goroutine, before the request is submitted, and does every piece
// of cryptography: it verifies the MAC, decrypts and checks the PIN block,
// verifies the ARQC, and makes a sign-on's working keys. What it finds
// goes to the ledger as verdicts (ledger.Security); the ledger applies
// them in the contract's order against state only its writer may change
// (key generation, wrong-PIN count, ATC). After the decision the step
// adds tag 91 and the MAC to the response.
//
// Clear keys live only in memory: the terminals' working keys and the
// programs' IMKs, opened from the store on first use and cached (bounded
// by maxCachedTerminals and maxCachedPrograms). A terminal's keys are
// cached prepared (their DES key schedules made once): making a schedule
// costs more than MACing a whole message, and every message is MACed.

// KeyStore is what the security step reads from the ledger; the ledger's
// Store implements it.
type KeyStore interface {
	Terminal(tid string) (*ledger.Terminal, ledger.TerminalState, error)
	TerminalMasterKey(t *ledger.Terminal) ([]byte, error)
	WorkingKeys(tid string) (ledger.ClearWorkingKeys, error)
	WorkingKeyGen(tid string) (uint32, error)
	SealWorkingKeys(tid string, tpk, tak []byte) (sealedTPK, sealedTAK []byte, err error)
	Card(pan string) (*ledger.Card, error)
	CardsGeneration() uint64
	Program(id string) (*ledger.Program, error)
	IssuerMasterKey(p *ledger.Program) ([]byte, error)
	PINMatches(pan, pin string, data []byte) bool
}

// Limits on the security step's caches of clear keys.
const (
	maxCachedTerminals = 100_000
	maxCachedPrograms  = 1_000
	maxCachedCards     = 100_000
)

// security holds the caches; one per Server.
type security struct {
	ks KeyStore

	mu    sync.RWMutex
	terms map[string]*preparedKeys // by TID
	imks  map[string]cachedIMK     // by program id
	cards map[string]cachedCard    // by PAN
}

// cachedCard is a card record as read at a card generation of the store
// (KeyStore.CardsGeneration): valid while the generation has not moved.
// Reading and decoding the record for every PIN costs more than the PIN
// check itself.
type cachedCard struct {
	gen  uint64
	card *ledger.Card
}

// preparedKeys are a terminal's working keys with their key schedules: mac
// for the TAK, pin for the TPK (nil when the key is absent or unusable,
// which fails every check made with it).
type preparedKeys struct {
	ledger.ClearWorkingKeys
	mac *cardcrypto.MACKey
	pin cipher.Block
}

func prepareKeys(k ledger.ClearWorkingKeys) *preparedKeys {
	tk := &preparedKeys{ClearWorkingKeys: k}
	if k.TAK != nil {
		tk.mac, _ = cardcrypto.NewMACKey(k.TAK)
	}
	if k.TPK != nil {
		tk.pin, _ = cardcrypto.TDES(k.TPK)
	}
	return tk
}

// cachedIMK is a program's clear IMK with the sealed form it came from,
// so a re-imported key replaces it.
type cachedIMK struct {
	sealed string
	clear  []byte
}

func newSecurity(ks KeyStore) *security {
	if ks == nil {
		return nil
	}
	return &security{ks: ks, terms: make(map[string]*preparedKeys), imks: make(map[string]cachedIMK),
		cards: make(map[string]cachedCard)}
}

// secContext is what the security step keeps of a request for its
// response: the session key and ARQC (for tag 91), and a sign-on's clear
// keys (to cache once the ledger has made them the terminal's).
type secContext struct {
	sessionKey, arqc []byte
	newKeys          *ledger.ClearWorkingKeys
}

// workingKeys returns the terminal's cached working keys, reading them
// from the store when the cache has none or, with refresh, always.
func (s *security) workingKeys(tid string, refresh bool) (*preparedKeys, error) {
	if !refresh {
		s.mu.RLock()
		k, ok := s.terms[tid]
		s.mu.RUnlock()
		if ok {
			return k, nil
		}
	}
	k, err := s.ks.WorkingKeys(tid)
	if err != nil {
		return nil, err
	}
	return s.remember(tid, k), nil
}

// remember caches the terminal's keys, prepared, and returns what the
// cache holds: a sign-on's newer keys stay.
func (s *security) remember(tid string, k ledger.ClearWorkingKeys) *preparedKeys {
	tk := prepareKeys(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.terms[tid]; ok && old.Gen > k.Gen {
		return old // a sign-on's keys already cached; never go back
	}
	if len(s.terms) >= maxCachedTerminals {
		for k := range s.terms { // evict one at random
			delete(s.terms, k)
			break
		}
	}
	s.terms[tid] = tk
	return tk
}

// macData splits a packed message into what the MAC covers and the MAC:
// the MAC field is the last field, so its 8 bytes end the message.
func macData(raw []byte) (data, mac []byte) {
	return raw[:len(raw)-cardcrypto.MACLen], raw[len(raw)-cardcrypto.MACLen:]
}

// checkMAC gives the verdict on a request's MAC and returns the keys it
// verified under (nil unless the MAC is valid). A MAC that does not
// verify under the cached keys is tried once more under the store's
// current keys when the store has newer ones (the terminal signed on
// through another gateway connection since the cache was filled). Only
// then are keys opened again: a peer sending wrong MACs costs one store
// read each, never a master-key operation.
func (s *security) checkMAC(m *wire.Message, raw []byte, sec *ledger.Security) *preparedKeys {
	field, present := wire.MACField(m)
	if !present {
		return nil
	}
	if field != wire.WantMACField(m) {
		sec.MAC = ledger.MACMisplaced
		return nil
	}
	sec.MAC = ledger.MACWrong
	data, mac := macData(raw)
	tid := m.Fields[41]
	for _, refresh := range []bool{false, true} {
		k, err := s.workingKeys(tid, refresh)
		if err != nil {
			return nil
		}
		if k.mac != nil && cardcrypto.MACEqual(k.mac.MAC(data), mac) {
			sec.MAC, sec.KeyGen = ledger.MACValid, k.Gen
			return k
		}
		if gen, err := s.ks.WorkingKeyGen(tid); err != nil || gen == k.Gen {
			return nil // the cached keys are the current ones: the MAC is wrong
		}
	}
	return nil
}

// prepare runs the security step on one request and returns what the
// response will need of it (nil: nothing). It never fails the
// request itself: what it cannot check becomes a verdict the ledger
// declines in its place in the check order (a storage error here
// declines as the verdict's own code, as nothing was applied).
func (s *security) prepare(m *wire.Message, raw []byte, r *ledger.Request) *secContext {
	sec := &r.Security
	sec.MACScope = wire.MACScope(m.MTI)
	// macKeys: the keys the request's MAC verified under, the generation
	// the ledger will hold the request to; its PIN block is decrypted
	// under the same keys, without looking them up again.
	var macKeys *preparedKeys
	if sec.MACScope {
		macKeys = s.checkMAC(m, raw, sec)
	}
	// nil for most requests: only a sign-on or key change and a chip
	// request leave anything for the response.
	var ctx *secContext
	switch r.Kind {
	case ledger.KindSignOn, ledger.KindKeyChange:
		ctx = &secContext{}
		s.makeWorkingKeys(r, ctx)
	}
	if r.Invalid != nil || r.PAN == "" {
		return ctx
	}
	if block, ok := m.Fields[52]; ok {
		sec.PIN = s.checkPIN(r, macKeys, []byte(block))
	}
	if isChipEntry(r.EntryMode) {
		if ctx == nil {
			ctx = &secContext{}
		}
		s.checkChip(m, r, ctx)
	}
	return ctx
}

// makeWorkingKeys makes a sign-on's fresh TPK and TAK and field 62 for a
// terminal with a TMK. Without a TMK, or when the store cannot open it,
// NewKeys stays nil and the ledger decides (a terminal with a TMK and no
// keys made is a host error, 96).
func (s *security) makeWorkingKeys(r *ledger.Request, ctx *secContext) {
	term, _, err := s.ks.Terminal(r.TID)
	if err != nil || term == nil || term.MID != r.MID || term.TMK == nil {
		return
	}
	tmk, err := s.ks.TerminalMasterKey(term)
	if err != nil {
		return
	}
	tpk, err1 := cardcrypto.NewKey(rand.Reader)
	tak, err2 := cardcrypto.NewKey(rand.Reader)
	if err1 != nil || err2 != nil {
		return
	}
	f62, err := cardcrypto.SealWorkingKeys(tmk, tpk, tak)
	if err != nil {
		return
	}
	tpkKCV, takKCV := f62[cardcrypto.KeyLen:cardcrypto.KeyLen+cardcrypto.KCVLen], f62[cardcrypto.WorkingKeysLen-cardcrypto.KCVLen:]
	sealedTPK, sealedTAK, err := s.ks.SealWorkingKeys(r.TID, tpk, tak)
	if err != nil {
		return
	}
	r.Security.NewKeys = &ledger.WorkingKeys{
		TPK: sealedTPK, TAK: sealedTAK, TPKKCV: fmt.Sprintf("%X", tpkKCV), TAKKCV: fmt.Sprintf("%X", takKCV),
		Field62: f62,
	}
	ctx.newKeys = &ledger.ClearWorkingKeys{TPK: tpk, TAK: tak}
}

// checkPIN decrypts field 52 under the terminal's TPK and matches the PIN
// against the card's verification data. A block that does not decrypt to
// a format 0 block for this PAN counts as a try, like a wrong PIN. A
// terminal without a TPK cannot have encrypted a PIN at all: that is not
// the cardholder's try, so the PIN counts as absent (55, not counted).
// k are the keys the request's MAC verified under; nil: the cached ones.
func (s *security) checkPIN(r *ledger.Request, k *preparedKeys, block []byte) ledger.PINVerdict {
	if k == nil {
		var err error
		if k, err = s.workingKeys(r.TID, false); err != nil {
			return ledger.PINAbsent
		}
	}
	if k.pin == nil {
		return ledger.PINAbsent
	}
	pin, err := cardcrypto.DecryptPINBlockWith(k.pin, block, r.PAN)
	if err != nil {
		return ledger.PINWrong
	}
	c, err := s.card(r.PAN)
	if err != nil || c == nil || c.PINData == nil || !s.ks.PINMatches(r.PAN, pin, c.PINData) {
		return ledger.PINWrong
	}
	return ledger.PINCorrect
}

func isChipEntry(mode string) bool {
	return len(mode) == 3 && (mode[:2] == "05" || mode[:2] == "07")
}

// checkChip verifies the ARQC of field 55 (contract section 7, steps 1-3)
// and keeps the session key for the ARPC. Field 55 was parsed strictly
// by the validator; a card or program the store does not know leaves the
// cryptogram unverified, and the ledger's card checks answer first.
func (s *security) checkChip(m *wire.Message, r *ledger.Request, ctx *secContext) {
	icc, err := cardcrypto.ParseICC([]byte(m.Fields[55]))
	if err != nil {
		return
	}
	psn := m.Fields[23]
	psn = psn[len(psn)-2:]
	atc, ok := icc.ATC()
	if !ok {
		return
	}
	chip := &ledger.ChipCheck{PSN: psn, ATC: uint16(atc[0])<<8 | uint16(atc[1])}
	r.Security.Chip = chip
	imk, err := s.issuerKey(r.PAN)
	if err != nil || imk == nil {
		return
	}
	mk, err := cardcrypto.CardKeyOptionA(imk, r.PAN, psn)
	if err != nil {
		return
	}
	sk, err := cardcrypto.SessionKeyCommon(mk, atc)
	if err != nil {
		return
	}
	data, err := icc.ARQCData()
	if err != nil {
		return
	}
	arqc, err := cardcrypto.ARQC(sk, data)
	got, ok := icc.Cryptogram()
	if err != nil || !ok || !cardcrypto.MACEqual(arqc, got[:]) {
		return
	}
	chip.CryptogramValid = true
	ctx.sessionKey, ctx.arqc = sk, arqc
}

// card returns the card record, from the cache while no card record has
// changed since it was read. The generation is taken before the read, so
// a change committed meanwhile makes the next request read again.
func (s *security) card(pan string) (*ledger.Card, error) {
	gen := s.ks.CardsGeneration()
	s.mu.RLock()
	cc, ok := s.cards[pan]
	s.mu.RUnlock()
	if ok && cc.gen == gen {
		return cc.card, nil
	}
	c, err := s.ks.Card(pan)
	if err != nil || c == nil {
		return c, err
	}
	s.mu.Lock()
	if len(s.cards) >= maxCachedCards {
		for k := range s.cards { // evict one at random
			delete(s.cards, k)
			break
		}
	}
	s.cards[pan] = cachedCard{gen: gen, card: c}
	s.mu.Unlock()
	return c, nil
}

// issuerKey returns the clear IMK of the card's program.
func (s *security) issuerKey(pan string) ([]byte, error) {
	c, err := s.card(pan)
	if err != nil || c == nil {
		return nil, err
	}
	p, err := s.ks.Program(c.ProgramID)
	if err != nil || p == nil || p.IMK == nil {
		return nil, err
	}
	s.mu.RLock()
	ck, ok := s.imks[p.ID]
	s.mu.RUnlock()
	if ok && ck.sealed == string(p.IMK) {
		return ck.clear, nil
	}
	imk, err := s.ks.IssuerMasterKey(p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.imks) >= maxCachedPrograms {
		clear(s.imks)
	}
	s.imks[p.ID] = cachedIMK{sealed: string(p.IMK), clear: imk}
	s.mu.Unlock()
	return imk, nil
}

// finish adds what the security step owes the response: tag 91 when the
// ledger accepted the chip data, and the key cache update of a sign-on.
// The MAC is added by seal after packing.
func (s *security) finish(req *wire.Message, resp *wire.Message, res *ledger.Result, ctx *secContext) {
	if ctx == nil {
		return
	}
	if ctx.newKeys != nil && res.Err == nil && !res.Replayed && res.KeyGen > 0 {
		k := *ctx.newKeys
		k.Gen = res.KeyGen
		s.remember(req.Fields[41], k)
	}
	if res.ChipAccepted && ctx.sessionKey != nil {
		rc := resp.Fields[39]
		arc := [2]byte{rc[0], rc[1]}
		arpc, err := cardcrypto.ARPCMethod1(ctx.sessionKey, ctx.arqc, arc)
		if err == nil {
			var v []byte
			if v, err = cardcrypto.IssuerAuthValue(arpc, arc); err == nil {
				resp.Fields[55] = string(cardcrypto.AppendTLV(nil, cardcrypto.TagIssuerAuth, v))
			}
		}
	}
}

// seal MACs a packed response in place when the ledger says it is to
// carry one: the packer left 8 zero bytes in the MAC field, which ends
// the message.
func (s *security) seal(tid string, gen uint32, packed []byte) error {
	k, err := s.workingKeys(tid, false)
	if err == nil && k.Gen != gen {
		k, err = s.workingKeys(tid, true)
	}
	if err != nil {
		return err
	}
	if k.Gen != gen || k.mac == nil {
		return fmt.Errorf("tid %s: no working keys of generation %d to MAC the response", tid, gen)
	}
	data, mac := macData(packed)
	copy(mac, k.mac.MAC(data))
	return nil
}
