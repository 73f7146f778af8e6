package terminal

import (
	"context"
	"fmt"
)

// network.go: network management: sign-on and key change (taking the
// working keys of field 62), sign-off, echo.

// network sends an 0800 with field 70 = code.
func (t *Terminal) network(ctx context.Context, op Op, code string) (*Result, error) {
	m := t.newRequest("0800")
	m.Set(70, code)
	return t.exchange(ctx, op, m, Txn{})
}

// SignOn sends 0800/001. When approved and the terminal has a TMK, it takes
// the working keys of field 62 (checking their check values) and from then
// on MACs its requests and can send PIN blocks.
func (t *Terminal) SignOn(ctx context.Context) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.takeKeys(t.network(ctx, OpSignOn, "001"))
}

// KeyChange sends 0800/101 and takes the new working keys like SignOn.
func (t *Terminal) KeyChange(ctx context.Context) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.takeKeys(t.network(ctx, OpKeyChange, "101"))
}

func (t *Terminal) takeKeys(res *Result, err error) (*Result, error) {
	if err != nil || !res.Approved() || t.cfg.TMK == nil {
		return res, err
	}
	f62, ok := res.Response.Get(62)
	if !ok {
		return res, fmt.Errorf("terminal %s %s: %w: approved without field 62", t.cfg.TID, res.Op, ErrBadResponse)
	}
	k, err := decryptField62(t.cfg.TMK, []byte(f62))
	if err != nil {
		return res, fmt.Errorf("terminal %s %s: %w", t.cfg.TID, res.Op, err)
	}
	t.keys = k
	t.st.WorkingKeys = []byte(f62)
	t.cfg.Conn.SetTAK(t.cfg.TID, k.TAK)
	res.KeysTaken = true
	return res, t.save()
}

// SignOff sends 0800/002; when approved the terminal drops its working keys.
func (t *Terminal) SignOff(ctx context.Context) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	res, err := t.network(ctx, OpSignOff, "002")
	if err != nil || !res.Approved() {
		return res, err
	}
	t.keys = workingKeys{}
	t.st.WorkingKeys = nil
	t.cfg.Conn.SetTAK(t.cfg.TID, nil)
	return res, t.save()
}

// Echo sends 0800/301.
func (t *Terminal) Echo(ctx context.Context) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.network(ctx, OpEcho, "301")
}
