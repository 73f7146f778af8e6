package line

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// recv.go: the Link's reader: bytes → frames, ACK/NAK, noise, hang-ups.

var errDeadline = os.ErrDeadlineExceeded

// alive is implemented by ports that can tell whether their device path
// still names the opened device (Device).
type alive interface{ Alive() error }

func (l *Link) readLoop() {
	defer l.wg.Done()
	asm := wire.NewLineAssembler(l.cfg.Framing)
	buf := make([]byte, readChunk)
	var partialSince time.Time // when the partial frame at the head began
	lastHealth := time.Now()
	fast := 0
	for {
		select {
		case <-l.dead:
			return
		default:
		}
		t0 := time.Now()
		n, err := l.port.Read(buf)
		if n > 0 {
			fast = 0
			asm.Push(buf[:n])
			if l.drain(asm) || partialSince.IsZero() {
				partialSince = time.Now()
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF): // tarm/serial's read timeout
			if n == 0 && time.Since(t0) < PortReadTimeout/4 {
				if fast++; fast >= hangupReads {
					l.fail(fmt.Errorf("%w: %s hung up", ErrDeviceGone, l.cfg.Device))
					return
				}
			}
		default:
			select {
			case <-l.dead: // Close closed the port under the read
			default:
				l.fail(fmt.Errorf("%w: read: %v", ErrDeviceGone, err))
			}
			return
		}
		if asm.Buffered() == 0 {
			partialSince = time.Time{}
		} else if time.Since(partialSince) > l.cfg.FrameTimeout {
			// The frame at the head stopped mid-way: give it up and
			// look again at what followed its STX.
			asm.Expire()
			l.st.cut.Add(1)
			l.event(EventCutFrame).Dur("frame_timeout", l.cfg.FrameTimeout).
				Msg("serial: frame cut off (no end within the frame timeout); discarded")
			l.drain(asm)
			partialSince = time.Now()
		}
		if time.Since(lastHealth) >= healthEvery {
			lastHealth = time.Now()
			if a, ok := l.port.(alive); ok {
				if err := a.Alive(); err != nil {
					l.fail(err)
					return
				}
			}
		}
	}
}

// drain handles every complete item in asm; it reports whether it took
// any (a partial frame left behind is then a new one).
func (l *Link) drain(asm *wire.LineAssembler) (took bool) {
	for {
		ev := asm.Next()
		if ev.Discarded > 0 {
			l.st.garbage.Add(uint64(ev.Discarded))
			l.event(EventGarbage).Int("bytes", ev.Discarded).Msg("serial: bytes outside any frame discarded as line noise")
		}
		switch ev.Kind {
		case wire.LineNeedMore:
			return took
		case wire.LineACK, wire.LineNAK:
			b := byte(wire.ACK)
			if ev.Kind == wire.LineNAK {
				b = wire.NAK
			}
			select {
			case l.ctl <- b:
			default: // nobody waits: a stray or late ACK/NAK
			}
		case wire.LineBadLRC:
			l.st.badLRC.Add(1)
			l.st.naksSent.Add(1)
			l.event(EventBadLRC).Msg("serial: frame with a bad LRC; NAK sent")
			if l.write([]byte{wire.NAK}) != nil {
				return took
			}
		case wire.LineFrame:
			l.received(ev.Payload)
		}
		took = true
	}
}

// received acknowledges and delivers one good frame, or recognises it as
// a repeat.
func (l *Link) received(p []byte) {
	now := time.Now()
	l.mu.Lock()
	if l.lastIn != nil && bytes.Equal(p, l.lastIn) && now.Sub(l.lastInAt) < l.cfg.DupWindow {
		reply := l.lastReply
		l.mu.Unlock()
		l.st.duplicates.Add(1)
		if l.write([]byte{wire.ACK}) != nil {
			return
		}
		ev := l.event(EventDuplicate)
		if l.cfg.Answerer && reply != nil && l.resending.CompareAndSwap(false, true) {
			l.st.repliesResent.Add(1)
			ev.Bool("answer_resent", true)
			l.wg.Add(1)
			go func() { // Send waits for an ACK, which this reader delivers
				defer l.wg.Done()
				defer l.resending.Store(false)
				l.Send(reply, time.Now().Add(time.Duration(l.cfg.MaxRetransmits+1)*l.cfg.ACKTimeout))
			}()
		}
		ev.Msg("serial: repeated frame; acknowledged, not delivered again")
		return
	}
	if len(l.frames) == cap(l.frames) {
		l.mu.Unlock()
		l.st.naksSent.Add(1)
		l.event(EventQueueFull).Int("queued", cap(l.frames)).Msg("serial: receive queue full; frame NAKed")
		l.write([]byte{wire.NAK})
		return
	}
	l.lastIn, l.lastInAt, l.lastReply = p, now, nil
	l.mu.Unlock()
	if l.write([]byte{wire.ACK}) != nil {
		return
	}
	l.st.delivered.Add(1)
	l.frames <- p // room checked above; only this goroutine sends
}
