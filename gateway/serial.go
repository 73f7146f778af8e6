package gateway

import (
	"errors"
	"fmt"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/gateway/wire/line"
	"github.com/rs/zerolog"
)

// serial.go: serial listeners. Each serves the one terminal on its
// device: it opens the device, runs the serial line (package line) as a
// connection of the same loop TCP connections run (server.go's conn:
// unpack, validate, submit, answer in completion order), and when the
// device vanishes reopens it with a bounded backoff.

// SerialConfig is the device of a kind serial listener.
type SerialConfig struct {
	Device string `yaml:"device"` // e.g. /dev/ttyS0, /dev/ttyUSB0
	Baud   int    `yaml:"baud"`   // default line.DefaultBaud (9600)
	// ACKTimeout is how long the host waits for the terminal's ACK of
	// a response before sending it again (default line.DefaultACKTimeout);
	// MaxRetransmits bounds those resends (default 3).
	ACKTimeout     time.Duration `yaml:"ack_timeout"`
	MaxRetransmits int           `yaml:"max_retransmits"`
	// FrameTimeout bounds one frame from STX to LRC; a frame not whole by
	// then is discarded (default line.DefaultFrameTimeout).
	FrameTimeout time.Duration `yaml:"frame_timeout"`
}

// Defaults of serial listeners.
const (
	DefaultSerialFraming = wire.DefaultLineFraming
	// A device that cannot be opened, or that vanished soon after it
	// was opened, is tried again after serialBackoffMin, doubling up to
	// serialBackoffMax; one that served serialStableAfter resets it.
	serialBackoffMin  = 100 * time.Millisecond
	serialBackoffMax  = 2 * time.Second
	serialStableAfter = 5 * time.Second
)

// Kinds of the serial listener's own log lines (logguard kinds).
const (
	EventSerialOpenFailed = "serial_open_failed"
	EventSerialVanished   = "serial_device_vanished"
)

// serialConfig checks and completes a kind serial listener; errors name
// the key after "listeners[i].".
func (l *listener) serialConfig() error {
	sc := l.cfg.Serial
	switch {
	case sc == nil || sc.Device == "":
		return errors.New("serial.device: missing (kind serial needs a device path)")
	case l.cfg.Addr != "":
		return fmt.Errorf("addr %q: a serial listener has a device, not an address", l.cfg.Addr)
	case l.cfg.TLS != nil:
		return errors.New("tls: not on a serial line")
	case sc.ACKTimeout < 0 || sc.FrameTimeout < 0:
		return errors.New("serial: timeouts must not be negative")
	case sc.MaxRetransmits < 0 || sc.MaxRetransmits > line.MaxRetransmitsLimit:
		return fmt.Errorf("serial.max_retransmits %d: want 0..%d (0: the default %d)", sc.MaxRetransmits, line.MaxRetransmitsLimit, line.DefaultMaxRetransmits)
	}
	c := *sc
	if c.Baud == 0 {
		c.Baud = line.DefaultBaud
	}
	if err := line.CheckBaud(c.Baud); err != nil {
		return fmt.Errorf("serial.%w", err)
	}
	if l.cfg.Framing == "" {
		l.cfg.Framing = DefaultSerialFraming
	}
	lf, err := wire.ParseLineFraming(l.cfg.Framing)
	if err != nil {
		return fmt.Errorf("framing: %w", err)
	}
	l.cfg.Serial, l.line, l.framing = &c, lf, lf.Stream()
	// One request at a time: the line answers a repeated request with
	// the answer it sent last, which needs answers in request order.
	l.idle, l.inFlight = 0, 1
	return nil
}

// serveSerial keeps l's device served until Shutdown.
func (s *Server) serveSerial(l *listener) {
	defer s.wg.Done()
	sc := l.cfg.Serial
	source := "serial:" + sc.Device
	backoff := serialBackoffMin
	for {
		dev, err := line.Open(sc.Device, sc.Baud)
		if err != nil {
			s.cfg.Guard.Event(&s.log, zerolog.WarnLevel, EventSerialOpenFailed).Str("device", sc.Device).
				Err(err).Int64("retry_ms", backoff.Milliseconds()).Msg("serial device cannot be opened; retrying")
			if !s.serialWait(&backoff) {
				return
			}
			continue
		}
		link := line.NewLink(dev, line.Config{Framing: l.line, Device: sc.Device, ACKTimeout: sc.ACKTimeout,
			MaxRetransmits: sc.MaxRetransmits, FrameTimeout: sc.FrameTimeout, Answerer: true,
			Logger: s.log, Guard: s.cfg.Guard})
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			link.Close()
			return
		}
		c := newConn(s, l, line.NewConn(link, sc.Device), source)
		s.conns[c] = struct{}{}
		s.perSource[source]++
		s.wg.Add(1)
		s.mu.Unlock()
		s.log.Info().Str("device", sc.Device).Int("baud", sc.Baud).Str("framing", l.line.String()).
			Str("packager", l.packager.Name()).Msg("serial device opened")
		opened := time.Now()
		c.serve() // until the device vanishes, the line is reset or Shutdown
		link.Close()
		select {
		case <-s.quit:
			return
		default:
		}
		why := link.Err()
		if errors.Is(why, line.ErrClosed) {
			why = errors.New("the connection loop ended the session (see its connection closed line)")
		}
		s.cfg.Guard.Event(&s.log, zerolog.WarnLevel, EventSerialVanished).Str("device", sc.Device).
			Str("reason", why.Error()).Msg("serial device vanished or reset; reopening")
		if time.Since(opened) >= serialStableAfter {
			backoff = serialBackoffMin
		}
		if !s.serialWait(&backoff) {
			return
		}
	}
}

// serialWait waits out the backoff (doubling it, up to its bound) unless
// Shutdown comes first; it reports whether to go on.
func (s *Server) serialWait(backoff *time.Duration) bool {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	*backoff = min(2**backoff, serialBackoffMax)
	select {
	case <-s.quit:
		return false
	case <-t.C:
		return true
	}
}
