package provision

import (
	"fmt"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// maxErrors bounds the problems one Parse or Apply reports; past it the
// list ends with a note that more were cut.
const maxErrors = 50

// FieldError is one problem with one key of a provisioning file (or of a
// single record checked with CheckProgram and friends). Path is the key
// path, e.g. "cards[3].expiry" (for a single record just "expiry"), Line the
// 1-based line in the file (0 when unknown). Msg never holds a clear PAN.
type FieldError struct {
	Path string `json:"field,omitempty"`
	Line int    `json:"line,omitempty"`
	Msg  string `json:"message"`
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// ErrorList is every problem found in a file, in file order. Parse, Validate
// and Apply return one (as error) when anything is wrong; use errors.As to
// get at the fields.
type ErrorList []*FieldError

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Err returns the list as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// errs collects FieldErrors up to maxErrors.
type errs struct {
	list ErrorList
	cut  bool
}

func (e *errs) add(path string, line int, format string, args ...any) {
	if len(e.list) >= maxErrors {
		if !e.cut {
			e.cut = true
			e.list = append(e.list, &FieldError{Msg: fmt.Sprintf("more than %d problems; stopped here", maxErrors)})
		}
		return
	}
	// The path holds keys as the file spelt them: it is scrubbed and
	// bounded like the message.
	e.list = append(e.list, &FieldError{Path: bound(cardnum.Scrub(path)), Line: line, Msg: bound(cardnum.Scrub(fmt.Sprintf(format, args...)))})
}

// maxMessageLen bounds a path or message (a key or value may be long).
const maxMessageLen = 300

func bound(s string) string {
	if len(s) <= maxMessageLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxMessageLen], "") + "…"
}

func (e *errs) full() bool { return len(e.list) >= maxErrors }
