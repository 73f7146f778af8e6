package terminal

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/privdir"
)

// The state file: one JSON object, written whole (temporary file, fsync,
// rename, fsync of the directory) so a crash leaves the old or the new state,
// never a mix.

const (
	stateVersion = 1
	// maxStateFileBytes bounds what loadState reads: 999 transactions of a
	// few hundred bytes each fit many times over.
	maxStateFileBytes = 4 << 20
)

// ErrBadState is wrapped by every error about the content of a state file.
var ErrBadState = errors.New("bad terminal state file")

type stateFile struct {
	Version     int        `json:"version"`
	TID         string     `json:"tid"`
	MID         string     `json:"mid"`
	NextSTAN    int        `json:"next_stan"`
	Batch       int        `json:"batch"`
	WorkingKeys string     `json:"working_keys,omitempty"` // field 62 as received (encrypted under the TMK), hex
	Txns        []stateTxn `json:"txns"`
	// ATC is the last application transaction counter of each simulated
	// chip card, by PAN "/" PSN.
	ATC map[string]uint16 `json:"atc,omitempty"`
}

type stateTxn struct {
	Op        Op     `json:"op"`
	MTI       string `json:"mti"`
	ProcCode  string `json:"proc_code"`
	STAN      string `json:"stan"`
	Field7    string `json:"field7"`
	AmountFen Fen    `json:"amount_fen"`
	RRN       string `json:"rrn,omitempty"`
	AuthCode  string `json:"auth_code,omitempty"`
	Batch     int    `json:"batch"`
	PAN       string `json:"pan"`
	Expiry    string `json:"expiry"`
	Original  string `json:"original,omitempty"`
	Voided    bool   `json:"voided,omitempty"`
	Reversed  bool   `json:"reversed,omitempty"`
}

// loadState reads the state file at path; it returns nil, nil when the file
// does not exist.
func loadState(path, tid, mid string) (*state, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("terminal state: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("terminal state %s: %w", path, err)
	}
	if len(data) > maxStateFileBytes {
		return nil, fmt.Errorf("%w %s: larger than %d bytes", ErrBadState, path, maxStateFileBytes)
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadState, path, err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %s: %s", ErrBadState, path, fmt.Sprintf(format, a...))
	}
	switch {
	case sf.Version != stateVersion:
		return nil, bad("version %d, want %d", sf.Version, stateVersion)
	case sf.TID != tid || sf.MID != mid:
		return nil, bad("belongs to TID %q MID %q, not %q %q", sf.TID, sf.MID, tid, mid)
	case sf.NextSTAN < 1 || sf.NextSTAN > maxSTAN:
		return nil, bad("next_stan %d outside 1..%d", sf.NextSTAN, maxSTAN)
	case sf.Batch < 1 || sf.Batch > maxBatch:
		return nil, bad("batch %d outside 1..%d", sf.Batch, maxBatch)
	case len(sf.Txns) > maxBatchTxns:
		return nil, bad("%d transactions, at most %d", len(sf.Txns), maxBatchTxns)
	}
	st := &state{NextSTAN: sf.NextSTAN, Batch: sf.Batch}
	if len(sf.ATC) > maxChipCards {
		return nil, bad("%d chip card ATCs, at most %d", len(sf.ATC), maxChipCards)
	}
	for k, atc := range sf.ATC {
		pan, psn, ok := strings.Cut(k, "/")
		if !ok || len(pan) < 12 || len(pan) > 19 || !cardnum.Digits(pan) || len(psn) != 2 || !cardnum.Digits(psn) || atc == 0 {
			return nil, bad("atc entry %s: want PAN/PSN and a counter 1..%d", cardnum.Mask(pan), maxATC)
		}
		if st.ATCs == nil {
			st.ATCs = map[string]uint16{}
		}
		st.ATCs[k] = atc
	}
	if sf.WorkingKeys != "" {
		k, err := hex.DecodeString(sf.WorkingKeys)
		if err != nil || len(k) != field62Len {
			return nil, bad("working_keys is not %d bytes of hex", field62Len)
		}
		st.WorkingKeys = k
	}
	for i, x := range sf.Txns {
		if len(x.MTI) != 4 || !cardnum.Digits(x.MTI) || len(x.STAN) != 6 || !cardnum.Digits(x.STAN) ||
			len(x.Field7) != 10 || !cardnum.Digits(x.Field7) || len(x.ProcCode) != 6 || !cardnum.Digits(x.ProcCode) ||
			x.AmountFen < 0 || x.AmountFen > maxAmountFen {
			return nil, bad("transaction %d: bad mti, stan, field7, proc_code or amount", i+1)
		}
		st.Txns = append(st.Txns, Txn{
			Op: x.Op, MTI: x.MTI, ProcCode: x.ProcCode, STAN: x.STAN, Field7: x.Field7,
			Amount: x.AmountFen, RRN: x.RRN, AuthCode: x.AuthCode, Batch: x.Batch,
			PAN: x.PAN, Expiry: x.Expiry, Original: x.Original, Voided: x.Voided, Reversed: x.Reversed,
		})
	}
	return st, nil
}

// saveState writes st to path atomically and durably.
func saveState(path, tid, mid string, st *state) error {
	sf := stateFile{
		Version: stateVersion, TID: tid, MID: mid,
		NextSTAN: st.NextSTAN, Batch: st.Batch,
		Txns: make([]stateTxn, 0, len(st.Txns)),
		ATC:  st.ATCs,
	}
	if len(st.WorkingKeys) > 0 {
		sf.WorkingKeys = hex.EncodeToString(st.WorkingKeys)
	}
	for _, x := range st.Txns {
		sf.Txns = append(sf.Txns, stateTxn{
			Op: x.Op, MTI: x.MTI, ProcCode: x.ProcCode, STAN: x.STAN, Field7: x.Field7,
			AmountFen: x.Amount, RRN: x.RRN, AuthCode: x.AuthCode, Batch: x.Batch,
			PAN: x.PAN, Expiry: x.Expiry, Original: x.Original, Voided: x.Voided, Reversed: x.Reversed,
		})
	}
	data, err := json.MarshalIndent(&sf, "", "  ")
	if err != nil {
		return fmt.Errorf("terminal state: %w", err)
	}
	data = append(data, '\n')
	if err := privdir.WriteFile(path, data); err != nil {
		return fmt.Errorf("terminal state: %w", err)
	}
	if err := privdir.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("terminal state: %w", err)
	}
	return nil
}
