package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cardcenter/cardcenter/terminal"
	"golang.org/x/term"
)

// posswipe.go: `pos … --track`: a swipe from a magstripe reader in
// keyboard mode ("keyboard wedge"), which types the tracks and Enter.

// swipedCardName is the runner's name for the swiped card; for this one
// command it replaces a card of that name in the --cards file.
const swipedCardName = "swiped"

// readSwipe parses --track's text, or with "-" one line from in: from a
// terminal without echo (the tracks are card data and must not appear on
// the screen), otherwise the first line, at most terminal.MaxSwipeBytes.
func readSwipe(arg string, in io.Reader) (terminal.Card, error) {
	if arg != "-" {
		return terminal.ParseSwipe(arg)
	}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(os.Stderr, "swipe the card: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return terminal.Card{}, fmt.Errorf("reading the swipe: %w", err)
		}
		return terminal.ParseSwipe(string(b))
	}
	r := bufio.NewReaderSize(in, terminal.MaxSwipeBytes+2)
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return terminal.Card{}, fmt.Errorf("%w: a line longer than %d characters", terminal.ErrBadTrack, terminal.MaxSwipeBytes)
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return terminal.Card{}, fmt.Errorf("reading the swipe from stdin: %w", err)
	}
	return terminal.ParseSwipe(string(line))
}
