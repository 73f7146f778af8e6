package terminal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// rawecho.go: the raw echo server, the ceiling a bench compares the host
// with. It answers every len2 frame with the same bytes: no ISO 8583,
// no ledger, nothing but the sockets. It is as cheap as a Go TCP echo
// can be, so that a ratio to it measures everything the host does on
// top of moving bytes: one goroutine and two 16 KiB buffers per
// connection, no allocation per frame, answers written back in one
// write for every frame the last read brought in (a pipelining client
// gets one syscall for several answers, as from the host's writer).

const (
	// maxRawEchoConns bounds the connections the echo server holds.
	maxRawEchoConns = 16384
	// rawEchoIdleTimeout closes a connection that sends nothing for this
	// long (house rule 6: every read has a deadline).
	rawEchoIdleTimeout = 5 * time.Minute
	// rawEchoWriteTimeout bounds every write of answers.
	rawEchoWriteTimeout = 10 * time.Second
	rawEchoBufBytes     = 16 << 10
)

// RawEchoServer echoes len2 frames (1..wire.MaxFrameBytes bytes after
// the 2-byte length) back on the connection they came from. A zero
// length or a longer frame closes the connection, as the host would.
type RawEchoServer struct {
	ln net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // bounded by maxRawEchoConns
	closed bool
	wg     sync.WaitGroup
}

// ServeRawEcho starts echoing on ln until Close.
func ServeRawEcho(ln net.Listener) *RawEchoServer {
	s := &RawEchoServer{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s
}

// Addr is the address the server listens on.
func (s *RawEchoServer) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (s *RawEchoServer) Close() error {
	s.mu.Lock()
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *RawEchoServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		s.mu.Lock()
		if s.closed || len(s.conns) >= maxRawEchoConns {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			echoFrames(c, rawEchoIdleTimeout)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// echoFrames echoes frames on c until it fails or closes; it returns why.
func echoFrames(c net.Conn, idle time.Duration) error {
	br := bufio.NewReaderSize(c, rawEchoBufBytes)
	bw := bufio.NewWriterSize(c, rawEchoBufBytes)
	buf := make([]byte, 2+wire.MaxFrameBytes) // once per connection
	for {
		if br.Buffered() == 0 {
			// Nothing more read yet: answer what was, then wait.
			if bw.Buffered() > 0 {
				c.SetWriteDeadline(time.Now().Add(rawEchoWriteTimeout))
				if err := bw.Flush(); err != nil {
					return err
				}
			}
			c.SetReadDeadline(time.Now().Add(idle))
		}
		if _, err := io.ReadFull(br, buf[:2]); err != nil {
			return flushThen(c, bw, err)
		}
		n := int(binary.BigEndian.Uint16(buf[:2]))
		if n == 0 || n > wire.MaxFrameBytes {
			return flushThen(c, bw, fmt.Errorf("raw echo: frame length %d outside 1..%d", n, wire.MaxFrameBytes))
		}
		if _, err := io.ReadFull(br, buf[2:2+n]); err != nil {
			return flushThen(c, bw, err)
		}
		if bw.Available() < 2+n {
			c.SetWriteDeadline(time.Now().Add(rawEchoWriteTimeout))
		}
		if _, err := bw.Write(buf[:2+n]); err != nil {
			return err
		}
	}
}

// flushThen answers the whole frames read before the input ended or went
// wrong (a peer that half-closes after its last frame still gets every
// answer), then returns why the connection ends.
func flushThen(c net.Conn, bw *bufio.Writer, why error) error {
	if bw.Buffered() > 0 {
		c.SetWriteDeadline(time.Now().Add(rawEchoWriteTimeout))
		bw.Flush()
	}
	return why
}
