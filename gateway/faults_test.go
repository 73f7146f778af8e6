package gateway

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// fault sends one of the section 1 faults on a fresh connection and
// reports whether the host closed it without an answer, then shows that
// the scenario's own connection is unaffected.
func (sc *scenario) fault(name string) string {
	t := sc.t
	c := sc.h.dial()
	defer c.close()
	echo := wire.NewMessage("0800").Set(7, sc.f7).Set(11, "999999").Set(41, sc.tid).Set(42, sc.mid).Set(70, "301")
	valid, err := sc.h.pk.Pack(echo)
	if err != nil {
		t.Fatal(err)
	}
	header := func(n int) []byte {
		if sc.h.framing.Header == "ascii4" {
			return []byte(fmt.Sprintf("%04d", n))
		}
		return binary.BigEndian.AppendUint16(nil, uint16(n))
	}
	var frame []byte
	wait := false
	switch name {
	case "too-long":
		frame = append(header(wire.MaxFrameBytes+1), make([]byte, 64)...)
	case "zero-length":
		frame = header(0)
	case "bad-ascii4":
		frame = append([]byte("12a4"), valid...)
	case "bad-tpdu":
		body := append([]byte{0x61, 0, 1, 0x80, 0}, valid...)
		frame = append(header(len(body)), body...)
	case "stall":
		// A valid start (with its TPDU where the framing has one),
		// then silence.
		frame = header(100)
		if sc.h.framing.TPDU {
			frame = append(frame, testTPDU...)
		}
		frame = append(frame, valid[:10]...)
		wait = true
	case "idle":
		wait = true
	case "trickle":
		// handled below: the frame goes out a byte at a time
	case "bad-mti":
		bad := append([]byte(nil), valid...)
		if sc.h.pk.Name() == "bcd" {
			bad[0] = 0x0A
		} else {
			bad[2] = 'X'
		}
		frame = c.frame(bad)
	case "unknown-field":
		bad := append([]byte(nil), valid...)
		switch sc.h.pk.Name() {
		case "bcd":
			bad[2] |= 0x08
		case "ascii":
			bad[4] |= 0x08
		case "ascii-hexbitmap":
			v, _ := strconv.ParseUint(string(bad[5]), 16, 8)
			bad[5] = strings.ToUpper(strconv.FormatUint(v|8, 16))[0]
		}
		frame = c.frame(bad)
	case "request-field-63":
		// Well formed for the packager, which knows field 63 for
		// responses; the host takes no request carrying it.
		with63, err := sc.h.pk.Pack(echo.Clone().Set(wire.FieldLoyalty, "LT0000000Pearl"))
		if err != nil {
			t.Fatal(err)
		}
		frame = c.frame(with63)
	case "overrun":
		frame = c.frame(valid[:len(valid)-1])
	case "trailing":
		frame = c.frame(append(append([]byte(nil), valid...), '0'))
	default:
		t.Fatalf("unknown fault %q", name)
	}
	start := time.Now()
	if len(frame) > 0 {
		if _, err := c.nc.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	var raw []byte
	var closed bool
	var sent int
	if name == "trickle" {
		raw, closed, sent, err = trickle(c, c.frame(valid))
	} else {
		raw, closed, err = c.read()
	}
	if err != nil {
		t.Fatalf("fault %s: %v", name, err)
	}
	var out string
	if closed {
		out = "closed without an answer"
		if wait && time.Since(start) < harnessReadTimeout/2 {
			out += " (too early)"
		}
		if name == "trickle" && sent < len(c.frame(valid)) {
			out += " before the frame was complete"
		}
	} else {
		resp, _ := sc.h.pk.Unpack(raw)
		out = "answered " + resp.MTI + " rc=" + resp.Fields[39]
	}
	sc.stan++
	other := sc.exchange(wire.NewMessage("0800").Set(7, sc.f7).Set(11, fmt.Sprintf("%06d", sc.stan)).
		Set(41, sc.tid).Set(42, sc.mid).Set(70, "301"))
	return out + "\nother connection: " + other + "\n"
}

// trickle sends a valid frame one byte every third of the read timeout, so
// that no read ever waits a whole read timeout, and reads until the host
// answers or closes. The read timeout bounds the whole frame, so the host
// closes the connection long before the last byte; sent says how many
// bytes went out by then. (Were the deadline renewed per read, the frame
// would complete and be answered.)
func trickle(c *termConn, frame []byte) (raw []byte, closed bool, sent int, err error) {
	done := make(chan struct{})
	sentc := make(chan int, 1)
	go func() {
		tick := time.NewTicker(harnessReadTimeout / 3)
		defer tick.Stop()
		n := 0
		defer func() { sentc <- n }()
		for n < len(frame) {
			if _, err := c.nc.Write(frame[n : n+1]); err != nil {
				return
			}
			n++
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	raw, closed, err = c.read()
	close(done)
	return raw, closed, <-sentc, err
}
