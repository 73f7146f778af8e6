package vcard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// DefaultAddr is where vpcd (the vsmartcard pcscd driver) waits for a card.
const DefaultAddr = "127.0.0.1:35963"

// Limits and timeouts of the card's side of the vpcd link.
const (
	maxMessageBytes = 261 // a short command APDU: header, Lc, 255 data bytes, Le
	ioTimeout       = 30 * time.Second
	dialTimeout     = 5 * time.Second
)

// ATR is the answer to reset the card gives: direct convention, T=0, two
// historical bytes (no interface bytes, so no check byte).
var ATR = []byte{0x3B, 0x02, 0x14, 0x50}

// Control bytes of vpcd (a one-byte message).
const (
	ctlPowerOff = 0x00
	ctlPowerOn  = 0x01
	ctlReset    = 0x02
	ctlGetATR   = 0x04
)

// Config is a card. For a chip card PAN, Expiry and IMK are required; a
// card with only UID set is a contactless member card that answers GET
// DATA (FF CA) and nothing else.
type Config struct {
	PAN    string // 12-19 digits
	PSN    string // 2 digits; "00" when empty
	Expiry string // YYMM
	IMK    []byte // the program's issuer master key: the card derives its own by Option A
	AID    []byte // the program's application; DefaultAID when nil
	UID    []byte // 4, 7 or 10 bytes; answered to FF CA 00 00 00
	ATC    uint16 // the counter before the card's first GENERATE AC
	// Pull, when set, is asked about every command APDU before the card
	// answers it; true pulls the card out then: the connection closes and
	// the command gets no answer.
	Pull func(apdu []byte) bool
}

// DefaultAID is the program's application identifier: a proprietary
// (unregistered, F0) AID, F0 "CARDC" 01.
var DefaultAID = []byte{0xF0, 0x43, 0x41, 0x52, 0x44, 0x43, 0x01}

// Card is a virtual card inserted in vpcd's reader. Close pulls it.
type Card struct {
	cfg  Config
	mk   []byte
	conn net.Conn
	done chan struct{}

	mu       sync.Mutex
	atc      uint16
	sk, arqc []byte // of the last first GENERATE AC
	arpcOK   bool   // the last EXTERNAL AUTHENTICATE verified
	stats    Stats
	err      error // why the serving loop stopped, if not a close
}

// Stats is what the card saw.
type Stats struct {
	INS           []byte // the INS byte of every command, in order
	ARQCs         int    // first GENERATE ACs answered with an ARQC
	ARPCVerified  int    // EXTERNAL AUTHENTICATEs whose ARPC verified
	ARPCRejected  int    // … whose ARPC did not
	TCs, AACs     int    // second GENERATE ACs: approved, declined
	LastCryptoCID byte   // 9F27 of the last GENERATE AC
}

// Insert dials vpcd at addr (DefaultAddr when empty) and serves cfg until
// Close or until Pull pulls the card.
func Insert(addr string, cfg Config) (*Card, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	if cfg.AID == nil {
		cfg.AID = DefaultAID
	}
	if cfg.PSN == "" {
		cfg.PSN = "00"
	}
	c := &Card{cfg: cfg, atc: cfg.ATC, done: make(chan struct{})}
	if cfg.PAN != "" {
		mk, err := cardcrypto.CardKeyOptionA(cfg.IMK, cfg.PAN, cfg.PSN)
		if err != nil {
			return nil, fmt.Errorf("vcard %s: %w", cardnum.Mask(cfg.PAN), err)
		}
		c.mk = mk
	} else if len(cfg.UID) == 0 {
		return nil, errors.New("vcard: a card needs a PAN (chip) or a UID (member card)")
	}
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("vcard: dial vpcd %s: %w", addr, err)
	}
	// Without TCP_NODELAY every APDU waits ~40 ms for delayed ACKs.
	if tc, ok := conn.(*net.TCPConn); ok {
		if err := tc.SetNoDelay(true); err != nil {
			conn.Close()
			return nil, fmt.Errorf("vcard: TCP_NODELAY: %w", err)
		}
	}
	c.conn = conn
	go c.serve()
	return c, nil
}

// Close pulls the card out and waits for its loop to end.
func (c *Card) Close() error {
	c.conn.Close()
	<-c.done
	return nil
}

// Done is closed when the card is out (Close, Pull, or vpcd hung up).
func (c *Card) Done() <-chan struct{} { return c.done }

// ATC is the card's current transaction counter.
func (c *Card) ATC() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atc
}

// Stats returns a copy of what the card saw.
func (c *Card) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.INS = append([]byte(nil), s.INS...)
	return s
}

// Err is why the card's loop stopped other than by Close or Pull.
func (c *Card) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Card) serve() {
	defer close(c.done)
	defer c.conn.Close()
	for {
		msg, err := c.read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
			}
			return
		}
		var reply []byte
		if len(msg) == 1 {
			switch msg[0] {
			case ctlGetATR:
				reply = ATR
			case ctlPowerOff, ctlPowerOn, ctlReset:
				continue // no answer
			default:
				continue
			}
		} else {
			if c.cfg.Pull != nil && c.cfg.Pull(msg) {
				return
			}
			reply = c.answer(msg)
		}
		if err := c.write(reply); err != nil {
			return
		}
	}
}

func (c *Card) read() ([]byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	quickAck(c.conn)
	var hdr [2]byte
	if _, err := io.ReadFull(c.conn, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 || n > maxMessageBytes {
		return nil, fmt.Errorf("vcard: vpcd message of %d bytes", n)
	}
	msg := make([]byte, n)
	quickAck(c.conn)
	_, err := io.ReadFull(c.conn, msg)
	return msg, err
}

func (c *Card) write(b []byte) error {
	c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(b)), uint16(len(b)))
	_, err := c.conn.Write(append(out, b...))
	return err
}

// sw appends a status word.
func sw(data []byte, sw uint16) []byte { return append(data, byte(sw>>8), byte(sw)) }

// tlv is cardcrypto.AppendTLV for a fresh object.
func tlv(tag cardcrypto.Tag, v ...[]byte) []byte {
	return cardcrypto.AppendTLV(nil, tag, bytes.Join(v, nil))
}

// bodyOf returns the command data of a case-3/4 APDU, nil if it has none.
func bodyOf(apdu []byte) []byte {
	if len(apdu) < 6 || int(apdu[4]) > len(apdu)-5 {
		return nil
	}
	return apdu[5 : 5+int(apdu[4])]
}
