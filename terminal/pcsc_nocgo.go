//go:build !cgo

package terminal

import (
	"context"
	"fmt"
)

// PCSCAvailable reports whether this binary was built with PC/SC support:
// not without cgo (github.com/ebfe/scard links libpcsclite).
const PCSCAvailable = false

// PCSC is absent without cgo: OpenPCSC says so.
type PCSC struct{}

// PCSCCard is absent without cgo.
type PCSCCard struct{}

// OpenPCSC fails: the binary was built without cgo.
func OpenPCSC() (*PCSC, error) {
	return nil, fmt.Errorf("%w: this binary was built without cgo (PC/SC needs cgo and libpcsclite-dev)", ErrNoPCSC)
}

func (p *PCSC) Close() error                                         { return nil }
func (p *PCSC) Readers() ([]string, error)                           { return nil, ErrNoPCSC }
func (p *PCSC) FindReader(string) (string, error)                    { return "", ErrNoPCSC }
func (p *PCSC) WaitCard(context.Context, string) error               { return ErrNoPCSC }
func (p *PCSC) WaitRemoved(context.Context, string) error            { return ErrNoPCSC }
func (p *PCSC) Connect(string) (*PCSCCard, error)                    { return nil, ErrNoPCSC }
func (c *PCSCCard) Transmit(context.Context, []byte) ([]byte, error) { return nil, ErrNoPCSC }
func (c *PCSCCard) Close() error                                     { return nil }
