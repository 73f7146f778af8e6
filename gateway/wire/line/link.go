package line

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/logguard"
	"github.com/rs/zerolog"
)

// Defaults and limits of Config.
const (
	DefaultACKTimeout     = 2 * time.Second
	DefaultMaxRetransmits = 3
	MaxRetransmitsLimit   = 10
	// DefaultFrameTimeout bounds a frame from its STX to its LRC: at 9600
	// baud a 4101-byte frame takes 4.3 s.
	DefaultFrameTimeout = 5 * time.Second
	maxQueuedFrames     = 8   // received, not yet taken by the owner
	readChunk           = 512 // bytes per read
	healthEvery         = time.Second
	hangupReads         = 3 // reads in a row ending at once mean a hang-up
	// maxWriteWait bounds one write to the device: tarm/serial has no
	// write deadline, and a live device that stops draining (flow
	// control held, a wedged USB adapter) would block its writer.
	maxWriteWait = 2 * time.Second
)

// Kinds of the log lines a Link writes (logguard kinds, also counted in
// Stats). docs/devices.md says what each means for a technician.
const (
	EventNAKReceived = "serial_nak_received" // the peer NAKed our frame: sent again
	EventACKTimeout  = "serial_ack_timeout"  // no ACK or NAK in time: sent again
	EventGaveUp      = "serial_not_acknowledged"
	EventBadLRC      = "serial_bad_lrc"    // a frame with a wrong LRC: NAK sent
	EventGarbage     = "serial_garbage"    // bytes outside any frame, discarded
	EventCutFrame    = "serial_frame_cut"  // a frame that stopped mid-way, discarded
	EventDuplicate   = "serial_duplicate"  // a repeated frame: ACKed, not delivered again
	EventQueueFull   = "serial_queue_full" // a frame NAKed because the owner is behind
)

// Errors of a Link; match with errors.Is.
var (
	ErrDeviceGone      = errors.New("serial device vanished")
	ErrNotAcknowledged = errors.New("serial frame not acknowledged")
	ErrClosed          = errors.New("serial link closed")
)

// Port is an open serial device: tarm/serial's Port, or a test double.
// A Read that times out returns (0, io.EOF). When it also has
// Alive() error, the Link calls it every second.
type Port interface {
	io.ReadWriteCloser
}

// Config configures a Link.
type Config struct {
	Framing        wire.LineFraming
	Device         string        // the device path, for log lines
	ACKTimeout     time.Duration // default DefaultACKTimeout
	MaxRetransmits int           // default DefaultMaxRetransmits, at most MaxRetransmitsLimit
	FrameTimeout   time.Duration // default DefaultFrameTimeout
	// DupWindow: a frame byte-equal to the last one delivered within
	// this time of it is a repeat (default (MaxRetransmits+1) × ACKTimeout).
	DupWindow time.Duration
	// Answerer: the host's side, which answers a repeated request with
	// the answer it already sent.
	Answerer bool
	Logger   zerolog.Logger
	Guard    *logguard.Guard // rate-limits the lines above; default: its own
}

// Stats are a Link's counters.
type Stats struct {
	Delivered, Duplicates, RepliesResent          uint64
	NAKsSent, NAKsReceived, Retransmits, GaveUp   uint64
	ACKTimeouts, GarbageBytes, CutFrames, BadLRCs uint64
}

// Link is one serial line: a reader goroutine that assembles frames,
// acknowledges them and queues them for the owner, and Send, which
// transmits one frame until it is acknowledged.
type Link struct {
	cfg  Config
	port Port
	log  zerolog.Logger

	frames chan []byte   // delivered, for the owner
	ctl    chan byte     // ACK or NAK seen, for Send
	dead   chan struct{} // closed when the link ends
	err    error         // why, set before dead closes
	once   sync.Once

	wmu    sync.Mutex // one write at a time (frames and ACK/NAK)
	sendMu sync.Mutex // one frame outstanding

	mu        sync.Mutex
	lastIn    []byte
	lastInAt  time.Time
	lastReply []byte

	resending atomic.Bool
	wg        sync.WaitGroup // the reader and a reply resend

	st struct {
		delivered, duplicates, repliesResent, naksSent, naksReceived, retransmits, gaveUp,
		ackTimeouts, garbage, cut, badLRC atomic.Uint64
	}
}

// NewLink starts a Link on an open port; Close ends it and closes the port.
func NewLink(p Port, cfg Config) *Link {
	if cfg.ACKTimeout <= 0 {
		cfg.ACKTimeout = DefaultACKTimeout
	}
	if cfg.MaxRetransmits <= 0 {
		cfg.MaxRetransmits = DefaultMaxRetransmits
	}
	cfg.MaxRetransmits = min(cfg.MaxRetransmits, MaxRetransmitsLimit)
	if cfg.FrameTimeout <= 0 {
		cfg.FrameTimeout = DefaultFrameTimeout
	}
	if cfg.DupWindow <= 0 {
		cfg.DupWindow = time.Duration(cfg.MaxRetransmits+1) * cfg.ACKTimeout
	}
	if cfg.Guard == nil {
		cfg.Guard = logguard.New(logguard.Config{})
	}
	l := &Link{cfg: cfg, port: p, log: cfg.Logger.With().Str("device", cfg.Device).Logger(),
		frames: make(chan []byte, maxQueuedFrames), ctl: make(chan byte, 1), dead: make(chan struct{})}
	l.wg.Add(1)
	go l.readLoop()
	return l
}

// Frames delivers each received frame's payload (TPDU and message) once.
func (l *Link) Frames() <-chan []byte { return l.frames }

// Dead is closed when the link has ended; Err then says why.
func (l *Link) Dead() <-chan struct{} { return l.dead }

// Err is why the link ended (wrapping ErrDeviceGone for a device fault,
// ErrClosed after Close), or nil while it runs.
func (l *Link) Err() error {
	select {
	case <-l.dead:
		return l.err
	default:
		return nil
	}
}

// Close ends the link, closes the port and waits for the reader (at most
// one port read timeout).
func (l *Link) Close() error {
	l.fail(ErrClosed)
	l.wg.Wait()
	return nil
}

func (l *Link) fail(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.dead)
		l.port.Close()
	})
}

// Stats returns the counters.
func (l *Link) Stats() Stats {
	return Stats{
		Delivered: l.st.delivered.Load(), Duplicates: l.st.duplicates.Load(), RepliesResent: l.st.repliesResent.Load(),
		NAKsSent: l.st.naksSent.Load(), NAKsReceived: l.st.naksReceived.Load(), Retransmits: l.st.retransmits.Load(),
		GaveUp: l.st.gaveUp.Load(), ACKTimeouts: l.st.ackTimeouts.Load(), GarbageBytes: l.st.garbage.Load(),
		CutFrames: l.st.cut.Load(), BadLRCs: l.st.badLRC.Load(),
	}
}

func (l *Link) event(kind string) *zerolog.Event {
	return l.cfg.Guard.Event(&l.log, zerolog.WarnLevel, kind)
}

// write writes b whole; an error ends the link.
func (l *Link) write(b []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	select {
	case <-l.dead:
		return l.err
	default:
	}
	// The write runs on its own goroutine so that it has a deadline: a
	// stalled one ends the link (the listener reopens the device) and
	// that goroutine returns when the kernel gives the write up.
	done := make(chan error, 1)
	go func() {
		_, err := l.port.Write(b)
		done <- err
	}()
	t := time.NewTimer(maxWriteWait)
	defer t.Stop()
	var err error
	select {
	case err = <-done:
	case <-t.C:
		err = fmt.Errorf("no progress in %s", maxWriteWait)
	}
	if err != nil {
		err = fmt.Errorf("%w: write: %v", ErrDeviceGone, err)
		l.fail(err)
		return err
	}
	return nil
}

// Send transmits payload (TPDU and message) as one frame and waits for
// its ACK, sending it again on NAK or ACK timeout, at most
// MaxRetransmits times. deadline (zero: none) bounds the whole exchange.
func (l *Link) Send(payload []byte, deadline time.Time) error {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	l.mu.Lock()
	if l.cfg.Answerer {
		if l.lastIn != nil && l.lastReply == nil {
			l.lastReply = append([]byte(nil), payload...)
		}
	} else {
		l.lastIn = nil // a new request: an equal answer is a new answer
	}
	l.mu.Unlock()
	frame := l.cfg.Framing.AppendLineFrame(nil, payload)
	for try := 0; try <= l.cfg.MaxRetransmits; try++ {
		select { // an ACK or NAK left from before is not this frame's
		case <-l.ctl:
		default:
		}
		if err := l.write(frame); err != nil {
			return err
		}
		if try > 0 {
			l.st.retransmits.Add(1)
		}
		wait := l.cfg.ACKTimeout
		if !deadline.IsZero() {
			wait = min(wait, time.Until(deadline))
		}
		timer := time.NewTimer(wait)
		var got byte
		select {
		case got = <-l.ctl:
		case <-timer.C:
		case <-l.dead:
			timer.Stop()
			return l.err
		}
		timer.Stop()
		switch got {
		case wire.ACK:
			return nil
		case wire.NAK:
			l.st.naksReceived.Add(1)
			l.event(EventNAKReceived).Int("try", try+1).Msg("serial: NAK received; sending the frame again")
		default:
			if !deadline.IsZero() && !time.Now().Before(deadline) {
				return fmt.Errorf("serial send on %s: %w", l.cfg.Device, errDeadline)
			}
			l.st.ackTimeouts.Add(1)
			l.event(EventACKTimeout).Int("try", try+1).Dur("ack_timeout", l.cfg.ACKTimeout).
				Msg("serial: no ACK in time; sending the frame again")
		}
	}
	l.st.gaveUp.Add(1)
	l.event(EventGaveUp).Int("tries", l.cfg.MaxRetransmits+1).Msg("serial: frame not acknowledged; given up")
	return fmt.Errorf("%w after %d tries on %s", ErrNotAcknowledged, l.cfg.MaxRetransmits+1, l.cfg.Device)
}
