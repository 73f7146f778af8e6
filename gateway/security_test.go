package gateway

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
)

// countingKeys counts how often the security step opens a terminal's
// working keys (each a master-key operation) on a real store.
type countingKeys struct {
	*ledger.Store
	opens atomic.Int64
}

func (c *countingKeys) WorkingKeys(tid string) (ledger.ClearWorkingKeys, error) {
	c.opens.Add(1)
	return c.Store.WorkingKeys(tid)
}

// secSignOn signs the keyed terminal on through the security step and
// the ledger, as the gateway does, and returns its clear working keys.
func secSignOn(t testing.TB, sec *security, st *ledger.Store) ledger.ClearWorkingKeys {
	t.Helper()
	on := wire.NewMessage("0800").Set(7, "1123100000").Set(11, "000001").Set(41, keyedTID).Set(42, "MALL00000000001").Set(70, "001")
	r, err := toRequest(on)
	if err != nil {
		t.Fatal(err)
	}
	ctx := sec.prepare(on, nil, r)
	res, err := st.Do(context.Background(), r)
	if err != nil || res.Err != nil || ctx == nil || ctx.newKeys == nil {
		t.Fatalf("sign-on: %v %v", err, res.Err)
	}
	sec.finish(on, buildResponse(on, res), &res, ctx)
	k := *ctx.newKeys
	k.Gen = res.KeyGen
	return k
}

// A peer sending wrong MACs must not make the host open keys again and
// again: once cached, the keys are re-opened only when the store holds a
// newer generation.
func TestWrongMACsOpenKeysOnce(t *testing.T) {
	st, _ := openFixtureStore(t)
	ks := &countingKeys{Store: st}
	sec := newSecurity(ks)
	pk, _ := wire.NewPackager("ascii")

	secSignOn(t, sec, st)

	for i := 0; i < 10; i++ {
		m := wire.NewMessage("0200").Set(3, "000000").Set(4, "000000000100").Set(7, "1123100000").
			Set(11, "000002").Set(22, "021").Set(25, "00").Set(35, panFor(1)+"=29121010000").
			Set(41, keyedTID).Set(42, "MALL00000000001").Set(49, "156").Set(60, "000001")
		wire.SetMACPlaceholder(m)
		raw, err := pk.Pack(m)
		if err != nil {
			t.Fatal(err)
		}
		copy(raw[len(raw)-cardcrypto.MACLen:], "wrongmac")
		got, _ := pk.Unpack(raw)
		r, _ := toRequest(got)
		sec.prepare(got, raw, r)
		if r.Security.MAC != ledger.MACWrong {
			t.Fatalf("verdict %v, want MACWrong", r.Security.MAC)
		}
	}
	if n := ks.opens.Load(); n != 0 {
		t.Fatalf("working keys opened %d times; the sign-on cached them", n)
	}
}
