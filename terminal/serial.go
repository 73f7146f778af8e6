package terminal

import (
	"context"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/gateway/wire/line"
	"github.com/rs/zerolog"
)

// serial.go: a serial line as a Client's transport.

// SerialConfig is the terminal's serial line: the device, its speed and
// the line framing (wire.ParseLineFraming: stx-bcd, stx-binary, +tpdu).
// The zero durations and counts take package line's defaults.
type SerialConfig struct {
	Device  string
	Baud    int // default line.DefaultBaud
	Framing wire.LineFraming
	Line    line.Config // ACKTimeout, MaxRetransmits, FrameTimeout; Framing and Device are set from above
	Logger  zerolog.Logger
}

// SerialDialer returns a DialFunc that opens the device and runs the
// serial line on it (package line: ACK/NAK, retransmission, repeats),
// presented as a Conn carrying cfg.Framing.Stream() records: give the
// Client that stream framing. Each dial opens the device afresh, so a
// device that vanished is reopened by the Client's next try.
func SerialDialer(cfg SerialConfig) DialFunc {
	return func(ctx context.Context) (Conn, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		baud := cfg.Baud
		if baud == 0 {
			baud = line.DefaultBaud
		}
		d, err := line.Open(cfg.Device, baud)
		if err != nil {
			return nil, err
		}
		lc := cfg.Line
		lc.Framing, lc.Device, lc.Answerer, lc.Logger = cfg.Framing, cfg.Device, false, cfg.Logger
		return line.NewConn(line.NewLink(d, lc), cfg.Device), nil
	}
}
