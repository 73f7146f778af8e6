package terminal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// session.go: one connection of a Client: pipelined requests matched to
// their responses by MTI, STAN and TID, and the reader that does it.

// session returns the live connection, dialling one if there is none.
func (c *Client) session(ctx context.Context) (*session, error) {
	c.mu.Lock()
	s, closed := c.cur, c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if s != nil {
		return s, nil
	}
	c.dialMu.Lock()
	defer c.dialMu.Unlock()
	c.mu.Lock()
	s, closed = c.cur, c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if s != nil {
		return s, nil
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	stop := context.AfterFunc(c.base, cancel)
	defer stop()
	conn, err := c.cfg.Dial(dctx)
	if err != nil {
		if c.base.Err() != nil {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("%w: dial: %w", ErrConnLost, err)
	}
	s = &session{
		c:       c,
		conn:    conn,
		br:      bufio.NewReaderSize(conn, 2*wire.MaxFrameBytes),
		pending: make(map[pendingKey]*waiter, c.cfg.MaxInFlight),
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Close()
		return nil, ErrClosed
	}
	c.cur = s
	c.wg.Add(1)
	c.mu.Unlock()
	c.stats.connects.Add(1)
	go s.readLoop()
	return s, nil
}

// session is one connection and the requests in flight on it.
type session struct {
	c    *Client
	conn Conn
	br   *bufio.Reader

	wmu  sync.Mutex
	wbuf []byte

	mu      sync.Mutex
	pending map[pendingKey]*waiter // nil once dead
	dead    bool
}

func (s *session) isDead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dead
}

func (s *session) register(k pendingKey, w *waiter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return ErrConnLost
	}
	if _, dup := s.pending[k]; dup {
		return fmt.Errorf("%w: %s stan %s", ErrDuplicateInFlight, k.mti, k.stan)
	}
	s.pending[k] = w
	return nil
}

// leave unregisters w. If w was already removed by someone else, their reply
// is on its way: leave waits for it and returns it with got = true.
func (s *session) leave(k pendingKey, w *waiter) (r reply, got bool) {
	s.mu.Lock()
	if s.pending[k] == w {
		delete(s.pending, k)
		s.mu.Unlock()
		return reply{}, false
	}
	s.mu.Unlock()
	return <-w.ch, true
}

func (s *session) write(packed []byte) error {
	cfg := &s.c.cfg
	s.wmu.Lock()
	s.wbuf = cfg.Framing.AppendFrame(s.wbuf[:0], cfg.TPDU, packed)
	err := s.conn.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
	if err == nil {
		_, err = s.conn.Write(s.wbuf)
	}
	s.wmu.Unlock()
	if err != nil {
		s.fail(fmt.Errorf("write: %w", err))
		return err
	}
	s.c.stats.sent.Add(1)
	return nil
}

// fail ends the session once: closes the connection and answers every
// request in flight with ErrConnLost.
func (s *session) fail(cause error) {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return
	}
	s.dead = true
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	s.conn.Close()
	c := s.c
	c.mu.Lock()
	if c.cur == s {
		c.cur = nil
	}
	c.mu.Unlock()
	if !errors.Is(cause, ErrClosed) {
		c.cfg.Logger.Warn().Str("reason", cause.Error()).Int("in_flight", len(pending)).Msg("terminal connection closed")
	}
	err := fmt.Errorf("%w: %w", ErrConnLost, cause)
	for _, w := range pending {
		w.ch <- reply{err: err}
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func (s *session) readLoop() {
	defer s.c.wg.Done()
	cfg := &s.c.cfg
	buf := make([]byte, wire.MaxFrameBytes)
	var err error
	for {
		// Wait for a frame to start with a renewed idle deadline; once its
		// first byte is here the whole frame must arrive within FrameTimeout.
		if err = s.conn.SetReadDeadline(time.Now().Add(cfg.IdleReadTimeout)); err != nil {
			break
		}
		if _, err = s.br.Peek(1); err != nil {
			if isTimeout(err) && !s.isDead() {
				continue
			}
			break
		}
		if err = s.conn.SetReadDeadline(time.Now().Add(cfg.FrameTimeout)); err != nil {
			break
		}
		var tpdu, msg []byte
		tpdu, msg, err = cfg.Framing.ReadFrame(s.br, buf)
		if err != nil {
			err = fmt.Errorf("read frame: %w", err)
			break
		}
		s.handle(tpdu, msg)
	}
	s.fail(err)
}

// handle matches one response frame to its request. msg aliases the read
// buffer and is not kept.
func (s *session) handle(tpdu, msg []byte) {
	c := s.c
	m, err := c.cfg.Packager.Unpack(msg)
	if err != nil || len(m.MTI) != 4 {
		c.stats.badFrames.Add(1)
		reason := "short MTI"
		if err != nil {
			reason = err.Error()
		}
		// The reason may quote field content; it is never card data from a
		// response (responses carry no 2, 14, 35, 52), but keep it short.
		if len(reason) > 200 {
			reason = reason[:200]
		}
		c.cfg.Logger.Warn().Str("reason", reason).Msg("terminal: response not unpackable, dropped")
		return
	}
	stan, _ := m.Get(11)
	tid, _ := m.Get(41)
	k := pendingKey{m.MTI[:3] + "0", stan, tid}
	s.mu.Lock()
	w := s.pending[k]
	if w != nil {
		delete(s.pending, k)
	}
	s.mu.Unlock()
	if w == nil {
		c.stats.unmatched.Add(1)
		c.cfg.Logger.Debug().Str("mti", m.MTI).Str("tid", tid).Str("stan", stan).Msg("terminal: unmatched response dropped")
		return
	}
	c.stats.responses.Add(1)
	var rerr error
	if c.cfg.Framing.TPDU && !bytes.Equal(tpdu, c.wantTPDU) {
		rerr = fmt.Errorf("%w: got % X, want % X", ErrTPDUMismatch, tpdu, c.wantTPDU)
	} else if w.maced {
		rerr = c.checkMAC(m, msg)
	}
	w.ch <- reply{m: m, err: rerr}
}
