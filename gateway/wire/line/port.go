package line

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/tarm/serial"
)

// PortReadTimeout is the read timeout Open sets (tarm/serial's
// granularity is 100 ms; a read never blocks longer, so Close is prompt).
const PortReadTimeout = 100 * time.Millisecond

// DefaultBaud is the line speed when a configuration gives none.
const DefaultBaud = 9600

// Bauds are the line speeds Open accepts.
var Bauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400}

// CheckBaud names a speed Open would refuse.
func CheckBaud(baud int) error {
	if !slices.Contains(Bauds, baud) {
		return fmt.Errorf("baud %d: want one of %v", baud, Bauds)
	}
	return nil
}

// Device is a serial device opened by Open: a Port whose Alive checks
// that its path still names the device that was opened.
type Device struct {
	*serial.Port
	path string
	fi   os.FileInfo
}

// Open opens path at baud (8 data bits, no parity, 1 stop bit) with
// PortReadTimeout, and discards whatever the device had buffered.
func Open(path string, baud int) (*Device, error) {
	if err := CheckBaud(baud); err != nil {
		return nil, fmt.Errorf("serial device %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("serial device %s: %w", path, err)
	}
	p, err := serial.OpenPort(&serial.Config{Name: path, Baud: baud, ReadTimeout: PortReadTimeout})
	if err != nil {
		return nil, fmt.Errorf("serial device %s: %w", path, err)
	}
	if err := p.Flush(); err != nil {
		p.Close()
		return nil, fmt.Errorf("serial device %s: flush: %w", path, err)
	}
	return &Device{Port: p, path: path, fi: fi}, nil
}

// Alive reports ErrDeviceGone when the path no longer exists or now
// names another device (a USB adapter plugged back in, a new pty).
func (d *Device) Alive() error {
	fi, err := os.Stat(d.path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDeviceGone, d.path, err)
	}
	if !os.SameFile(fi, d.fi) {
		return fmt.Errorf("%w: %s now names another device", ErrDeviceGone, d.path)
	}
	return nil
}
