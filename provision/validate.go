package provision

import (
	"fmt"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// validate.go: checks of a whole file: each record, duplicate ids, PANs
// and names, and references between the records of the file.

// Validate checks the file as a whole: every record on its own, no
// duplicate ids, PANs or names, and references between records of the
// file. References to records that are not in the file are left to Apply,
// which looks them up in the store before it writes anything.
func (f *File) Validate() error {
	var e errs
	sub := func(prefix string, l ErrorList, rename func(string) string) {
		for _, fe := range l {
			k := rename(fe.Path)
			path := prefix
			if k != "" {
				path += "." + k
			}
			e.add(path, f.line(path), "%s", fe.Msg)
		}
	}
	at := func(path string) int { return f.line(path) }
	same := func(k string) string { return k }

	// unique remembers id as seen at list[i]; seeing it again is an
	// error at list[i].key that names the first sighting.
	unique := func(seen map[string]int, list, key, id string, i int) {
		pre := fmt.Sprintf("%s[%d]", list, i)
		if j, dup := seen[id]; dup && id != "" {
			e.add(pre+"."+key, at(pre+"."+key), "%q given twice (first at %s[%d], line %d)", id, list, j, at(fmt.Sprintf("%s[%d]", list, j)))
			return
		}
		seen[id] = i
	}
	programs := map[string]int{}
	for i := range f.Programs {
		p := &f.Programs[i]
		sub(fmt.Sprintf("programs[%d]", i), CheckProgram(p), rulesKeyOf)
		unique(programs, "programs", "id", p.ID, i)
	}
	merchants := map[string]int{}
	for i := range f.Merchants {
		m := &f.Merchants[i]
		sub(fmt.Sprintf("merchants[%d]", i), CheckMerchant(m), same)
		unique(merchants, "merchants", "mid", m.MID, i)
	}
	f.checkCampaignMerchants(&e, merchants)
	terminals := map[string]int{}
	for i := range f.Terminals {
		t := &f.Terminals[i]
		sub(fmt.Sprintf("terminals[%d]", i), CheckTerminal(t), same)
		unique(terminals, "terminals", "tid", t.TID, i)
	}
	pans := map[string]int{}
	names := map[string]int{}
	uids := map[string]int{}
	for i := range f.Cards {
		c := &f.Cards[i]
		pre := fmt.Sprintf("cards[%d]", i)
		sub(pre, CheckCard(&c.Card), cardKeyOf)
		if j, dup := pans[c.PAN]; dup && c.PAN != "" {
			e.add(pre+".pan", at(pre+".pan"), "%s given twice (first at cards[%d], line %d)", cardnum.Mask(c.PAN), j, at(fmt.Sprintf("cards[%d]", j)))
		} else {
			pans[c.PAN] = i
		}
		if c.Name != "" {
			if !isAlias(c.Name) {
				e.add(pre+".name", at(pre+".name"), "%q: want a letter then up to %d letters, digits, '-' or '_'", c.Name, maxAliasLen-1)
			} else if j, dup := names[c.Name]; dup {
				e.add(pre+".name", at(pre+".name"), "%q given twice (first at cards[%d], line %d)", c.Name, j, at(fmt.Sprintf("cards[%d]", j)))
			} else {
				names[c.Name] = i
			}
		}
		if c.UID != "" {
			if _, err := ParseUID(c.UID); err != nil {
				e.add(pre+".uid", at(pre+".uid"), "%v", err)
			}
			unique(uids, "cards", "uid", c.UID, i)
		}
		if c.OpeningBalance < 0 {
			e.add(pre+".opening_balance", at(pre+".opening_balance"), "must not be negative")
		} else if max := c.EffectiveMaxBalance(); c.OpeningBalance > max {
			e.add(pre+".opening_balance", at(pre+".opening_balance"), "%s is above the card's max balance %s", c.OpeningBalance, max)
		}
		if c.OpeningPoints < 0 || c.OpeningPoints > maxOpeningPoints {
			e.add(pre+".opening_points", at(pre+".opening_points"), "%d: want 0..%d", c.OpeningPoints, maxOpeningPoints)
		}
		if j, ok := programs[c.ProgramID]; ok {
			if p := &f.Programs[j]; c.Product != "" {
				if _, ok := p.Product(c.Product); !ok {
					e.add(pre+".product", at(pre+".product"), "%q: not a product of program %s; want one of %s", c.Product, p.ID, strings.Join(p.ProductNames(), ", "))
				}
			}
		}
		if j, ok := merchants[c.HomeMID]; ok {
			m := &f.Merchants[j]
			if !m.Home {
				e.add(pre+".home_mid", at(pre+".home_mid"), "merchant %s is not a home merchant (merchants[%d] has home: false)", m.MID, j)
			}
			if c.ProgramID != "" && m.ProgramID != c.ProgramID {
				e.add(pre+".program_id", at(pre+".program_id"), "%q, but home merchant %s is in program %q", c.ProgramID, m.MID, m.ProgramID)
			}
		}
	}
	if len(e.list) > 0 {
		sortErrors(e.list)
		return e.list
	}
	return nil
}

func isAlias(s string) bool {
	if s == "" || len(s) > maxAliasLen || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
