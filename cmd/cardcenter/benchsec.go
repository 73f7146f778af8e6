package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/terminal"
)

// The bench with contract section 7 on (bench --security): a second
// population of terminals, each with a master key, that sign on for
// working keys and MAC every request, and of cards whose product asks a
// PIN for every purchase, which the load generator enters. Same merchants,
// same program, same host process as the population without keys, so the
// two purchase runs differ only in MAC and PIN.

const (
	benchPINProduct = "pinpurchase"
	benchPIN        = "1234" // the bench cardholders' PIN (a test value)
)

// ephemeralRing is a host master key that lives as long as the process:
// enough for a bench store, which is thrown away, and for tests.
func ephemeralRing() (*keys.Ring, error) {
	kek, err := keys.Ephemeral()
	if err != nil {
		return nil, err
	}
	return keys.NewRing(kek)
}

// benchTMK is terminal tid's master key: derived from the TID, so that the
// bench host and the load generator (separate processes) agree on it
// without passing keys around. Bench keys only.
func benchTMK(tid string) []byte {
	sum := sha256.Sum256([]byte("cardcenter bench tmk " + tid))
	return sum[:cardcrypto.KeyLen]
}

// benchSecureTerminals are the terminals with master keys, on the same
// merchants as benchTerminals.
func benchSecureTerminals(n int) []terminal.LoadTerminal {
	lts := benchTerminalsOf(n, "S", benchMID)
	for i := range lts {
		lts[i].TMK = benchTMK(lts[i].TID)
	}
	return lts
}

// benchPINCards are the cards of the PIN product, holding benchPIN.
func benchPINCards(n int) []terminal.Card { return benchCardsOf(n, "629100", benchPIN) }

// benchProgram is the bench program; with security it has the PIN product.
func benchProgram(security bool) ledger.Program {
	p := ledger.Program{ID: "bench", Name: "Bench", Currency: "156", PointCost: 1, RedemptionValue: 1}
	if security {
		p.Products = []ledger.Product{{Name: benchPINProduct, Kind: "magstripe",
			PINRequired: map[string]ledger.Amount{"000000": 0}}}
	}
	return p
}

// provisionBenchSecurity registers the terminals with their sealed master
// keys and the PIN cards with their PIN data and opening balance. The
// merchants are provisionBench's.
func provisionBenchSecurity(ctx context.Context, st *ledger.Store, nTerm, nCards int) error {
	for _, lt := range benchSecureTerminals(nTerm) {
		sealed, err := st.SealTMK(lt.TID, lt.TMK)
		if err != nil {
			return err
		}
		kcv, err := cardcrypto.KCV(lt.TMK)
		if err != nil {
			return err
		}
		if err := st.PutTerminal(ctx, ledger.Terminal{TID: lt.TID, MID: lt.MID, Enabled: true,
			TMK: sealed, TMKKCV: strings.ToUpper(hex.EncodeToString(kcv))}); err != nil {
			return err
		}
	}
	cards := benchPINCards(nCards)
	return provisionCards(ctx, st, len(cards), func(i int) (ledger.Card, error) {
		pin, err := st.PINData(cards[i].PAN, benchPIN)
		return ledger.Card{PAN: cards[i].PAN, ProgramID: "bench", HomeMID: benchMID(0),
			Product: benchPINProduct, State: ledger.CardActive, Expiry: "4912", MaxBalance: 1_000_000_000,
			Member: ledger.Member{Registered: true}, PINData: pin}, err
	})
}
