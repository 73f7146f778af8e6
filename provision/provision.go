package provision

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// Limits on what one provisioning file may hold.
const (
	// MaxFileBytes bounds a provisioning file (and the admin API's import
	// body).
	MaxFileBytes = 8 << 20
	maxPrograms  = 100
	maxMerchants = 10_000
	maxTerminals = 50_000
	maxCards     = 50_000
	// maxOpeningPoints bounds a card's opening points.
	maxOpeningPoints = 1_000_000_000
	maxAliasLen      = 32
	// FormatVersion is the only version of the format there is.
	FormatVersion = 1
)

// File is a parsed and validated provisioning file.
type File struct {
	// Version is the format version (FormatVersion).
	Version   int
	Programs  []ledger.Program
	Merchants []ledger.Merchant
	Terminals []ledger.Terminal
	Cards     []Card
	// Keys are the clear keys the file gives (test programs only): Apply
	// seals them under the host master key and the store never sees them
	// in clear.
	Keys Keys
	// Aliases maps each card's name: to what a test or demo needs to
	// present that card (PAN, expiry, service code, …). Aliases live only
	// in the file; the ledger never sees them.
	Aliases map[string]Alias

	// pos maps a key path ("cards[3].expiry") to its line in the source;
	// nil for a File built in code.
	pos map[string]int
}

// Card is a card to provision: the ledger record plus what only the file
// knows.
type Card struct {
	ledger.Card
	// Name is the card's alias in the file (optional, unique).
	Name string
	// UID is the contactless UID of a member card that carries only that
	// (upper-case hex, 4, 7 or 10 bytes; uid.go), empty when none.
	UID string
	// OpeningBalance and OpeningPoints are credited once, when the card has
	// no journal history yet (see Apply).
	OpeningBalance ledger.Amount
	OpeningPoints  ledger.Points
	// PIN is the card's PIN in clear (test programs only); Apply stores
	// only its verification data.
	PIN string
}

// Keys are a file's clear keys, by program id and by TID.
type Keys struct {
	IMK map[string][]byte // issuer master keys by program id
	TMK map[string][]byte // terminal master keys by TID
}

// String shows the card with its PAN masked, so that a stray %v never
// prints card data.
func (c Card) String() string {
	return fmt.Sprintf("card %s (%s, %s, expiry %s)", cardnum.Mask(c.PAN), c.Name, c.State, c.Expiry)
}

// Alias is what a caller needs to present a named card to the host.
type Alias struct {
	PAN            string
	Expiry         string // YYMM
	ServiceCode    string
	PSN            string
	Product        string
	State          ledger.CardState
	Blacklisted    bool
	ProgramID      string
	HomeMID        string
	OpeningBalance ledger.Amount
	OpeningPoints  ledger.Points
	// PIN and IMK (the program's, hex) let a simulator present the card
	// with a PIN and as a chip card; test programs only.
	PIN string
	IMK string
	UID string // the card's contactless UID, upper-case hex; empty when none
}

// String shows the alias with its PAN masked.
func (a Alias) String() string {
	return fmt.Sprintf("%s expiry %s %s", cardnum.Mask(a.PAN), a.Expiry, a.State)
}

// Alias looks a card up by its name.
func (f *File) Alias(name string) (Alias, bool) {
	a, ok := f.Aliases[name]
	return a, ok
}

// line returns the source line of a key path, or of its nearest ancestor
// that has one; 0 when unknown.
func (f *File) line(path string) int {
	for path != "" {
		if l, ok := f.pos[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// Load reads and parses a provisioning file.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("provision: read %s: %w", path, err)
	}
	return Parse(data)
}

// Parse decodes and validates a provisioning file as a whole. On any
// problem it returns an ErrorList naming every bad key with its line (up to
// a limit), and no File.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxFileBytes {
		return nil, ErrorList{{Msg: fmt.Sprintf("file larger than %d bytes", MaxFileBytes)}}
	}
	var raw rawFile
	pos, empty, el := decodeStrict(data, &raw)
	if el != nil {
		return nil, el
	}
	if empty {
		return nil, ErrorList{{Msg: "empty file: want a mapping with programs, merchants, terminals and cards"}}
	}

	c := &conv{f: &File{pos: pos}}
	c.file(&raw)
	if c.e.full() {
		return nil, c.e.list
	}
	// Validate the typed records, skipping keys that already failed to
	// convert (their zero values would only repeat the complaint).
	bad := map[string]bool{}
	for _, e := range c.e.list {
		bad[e.Path] = true
	}
	if err := c.f.Validate(); err != nil {
		var l ErrorList
		errors.As(err, &l)
		for _, e := range l {
			if !bad[e.Path] {
				c.e.add(e.Path, e.Line, "%s", e.Msg)
			}
		}
	}
	if len(c.e.list) > 0 {
		sortErrors(c.e.list)
		return nil, c.e.list
	}
	c.f.Aliases = map[string]Alias{}
	for _, cd := range c.f.Cards {
		if cd.Name != "" {
			c.f.Aliases[cd.Name] = Alias{
				PAN: cd.PAN, Expiry: cd.Expiry, ServiceCode: cd.ServiceCode, PSN: cd.PSN,
				Product: cd.Product, State: cd.State, Blacklisted: cd.Blacklisted,
				ProgramID: cd.ProgramID, HomeMID: cd.HomeMID,
				OpeningBalance: cd.OpeningBalance, OpeningPoints: cd.OpeningPoints,
				PIN: cd.PIN, IMK: hexKey(c.f.Keys.IMK[cd.ProgramID]), UID: cd.UID,
			}
		}
	}
	return c.f, nil
}

func sortErrors(l ErrorList) {
	sort.SliceStable(l, func(i, j int) bool {
		li, lj := l[i].Line, l[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
}
