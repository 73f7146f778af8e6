//go:build cgo

package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ebfe/scard"
)

// pcsc.go: PC/SC reader access through pcscd (github.com/ebfe/scard, cgo).
// Built only with cgo; pcsc_nocgo.go says why it is missing otherwise.

// PCSCAvailable reports whether this binary was built with PC/SC support.
const PCSCAvailable = true

// DefaultAPDUTimeout bounds one card command as the caller sees it.
const DefaultAPDUTimeout = 5 * time.Second

// PCSC is a PC/SC context: one connection to pcscd.
type PCSC struct {
	ctx *scard.Context
}

// OpenPCSC connects to pcscd.
func OpenPCSC() (*PCSC, error) {
	c, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("%w: %w (is pcscd running?)", ErrNoPCSC, err)
	}
	return &PCSC{ctx: c}, nil
}

// Close releases the context.
func (p *PCSC) Close() error { return p.ctx.Release() }

// Readers lists the readers pcscd knows; none is an empty list, not an error.
func (p *PCSC) Readers() ([]string, error) {
	rs, err := p.ctx.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: list readers: %w", ErrNoPCSC, err)
	}
	return rs, nil
}

// FindReader returns the first reader whose name starts with prefix (the
// first reader when prefix is empty); ErrNoReader when there is none.
func (p *PCSC) FindReader(prefix string) (string, error) {
	rs, err := p.Readers()
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if strings.HasPrefix(r, prefix) {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: none named %q… among %d readers", ErrNoReader, prefix, len(rs))
}

// WaitCard blocks in SCardGetStatusChange until a card is in reader (at
// once if one is), or ctx ends. A mute card (no answer to reset) is
// ErrCardMute.
func (p *PCSC) WaitCard(ctx context.Context, reader string) error {
	return p.waitState(ctx, reader, func(s scard.StateFlag) (bool, error) {
		if s&scard.StateMute != 0 {
			return true, ErrCardMute
		}
		return s&scard.StatePresent != 0, nil
	})
}

// WaitRemoved blocks until reader is empty, or ctx ends.
func (p *PCSC) WaitRemoved(ctx context.Context, reader string) error {
	return p.waitState(ctx, reader, func(s scard.StateFlag) (bool, error) {
		return s&scard.StateEmpty != 0, nil
	})
}

// waitState waits for reader's state to satisfy done. ctx's end cancels
// the blocked SCardGetStatusChange (SCardCancel) from a goroutine this
// call owns and waits for.
func (p *PCSC) waitState(ctx context.Context, reader string, done func(scard.StateFlag) (bool, error)) error {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			p.ctx.Cancel()
		case <-stop:
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	states := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := p.ctx.GetStatusChange(states, -1) // until a change or SCardCancel
		if errors.Is(err, scard.ErrCancelled) {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: reader %q: %w", ErrNoReader, reader, err)
		}
		s := states[0].EventState
		if s&scard.StateUnknown != 0 || s&scard.StateUnavailable != 0 {
			return fmt.Errorf("%w: reader %q is gone", ErrNoReader, reader)
		}
		if ok, err := done(s); ok || err != nil {
			return err
		}
		states[0].CurrentState = s &^ scard.StateChanged
	}
}

// Connect opens the card in reader (shared, T=0 or T=1).
func (p *PCSC) Connect(reader string) (*PCSCCard, error) {
	c, err := p.ctx.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		if errors.Is(err, scard.ErrUnresponsiveCard) || errors.Is(err, scard.ErrUnpoweredCard) {
			return nil, fmt.Errorf("%w: %w", ErrCardMute, err)
		}
		return nil, fmt.Errorf("%w: connect %q: %w", ErrCardGone, reader, err)
	}
	return &PCSCCard{card: c, Timeout: DefaultAPDUTimeout}, nil
}

// PCSCCard is a connected card; it is a CardConn.
type PCSCCard struct {
	card    *scard.Card
	Timeout time.Duration // per command, besides ctx's deadline
	wg      sync.WaitGroup
}

// Transmit sends one APDU. pcsc-lite cannot interrupt SCardTransmit, so the
// call runs in a goroutine the card owns: the caller gets ErrCardTimeout at
// the deadline, and Close waits for the goroutine (pcscd's driver ends it).
func (c *PCSCCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	type reply struct {
		b   []byte
		err error
	}
	ch := make(chan reply, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		b, err := c.card.Transmit(apdu)
		ch <- reply{b, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCardGone, r.err)
		}
		if len(r.b) < 2 { // vpcd's answer when the card left mid-command
			return nil, fmt.Errorf("%w: %d bytes instead of a response", ErrCardGone, len(r.b))
		}
		return r.b, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: no answer within %v", ErrCardTimeout, c.Timeout)
	}
}

// Close leaves the card as it is and waits for a command still running.
func (c *PCSCCard) Close() error {
	c.wg.Wait()
	return c.card.Disconnect(scard.LeaveCard)
}
