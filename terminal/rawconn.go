package terminal

import (
	"bufio"
	"bytes"
	"context"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// rawconn.go: a raw framed connection, for tests and tools that send
// exact bytes (malformed frames included).

// RawConn is the raw mode for tests of the host: it writes exact frame bytes
// (header and TPDU included, possibly malformed) and reads whole frames.
type RawConn struct {
	conn    Conn
	br      *bufio.Reader
	framing wire.Framing
	timeout time.Duration
	buf     []byte
}

// DialRaw opens a RawConn; timeout bounds every read and write (default
// DefaultResponseTimeout).
func DialRaw(ctx context.Context, dial DialFunc, framing wire.Framing, timeout time.Duration) (*RawConn, error) {
	if timeout <= 0 {
		timeout = DefaultResponseTimeout
	}
	if framing.Header == "" {
		framing.Header = "len2"
	}
	conn, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	return &RawConn{conn: conn, br: bufio.NewReader(conn), framing: framing, timeout: timeout, buf: make([]byte, wire.MaxFrameBytes)}, nil
}

// Write writes b exactly as given.
func (r *RawConn) Write(b []byte) error {
	if err := r.conn.SetWriteDeadline(time.Now().Add(r.timeout)); err != nil {
		return err
	}
	_, err := r.conn.Write(b)
	return err
}

// ReadFrame reads the next frame and returns copies of its TPDU (nil without
// TPDU framing) and message. io.EOF means the host closed the connection.
func (r *RawConn) ReadFrame() (tpdu, msg []byte, err error) {
	if err := r.conn.SetReadDeadline(time.Now().Add(r.timeout)); err != nil {
		return nil, nil, err
	}
	t, m, err := r.framing.ReadFrame(r.br, r.buf)
	if err != nil {
		return nil, nil, err
	}
	return bytes.Clone(t), bytes.Clone(m), nil
}

// RoundTrip writes b and reads the next frame.
func (r *RawConn) RoundTrip(b []byte) (tpdu, msg []byte, err error) {
	if err := r.Write(b); err != nil {
		return nil, nil, err
	}
	return r.ReadFrame()
}

// Close closes the connection.
func (r *RawConn) Close() error { return r.conn.Close() }

// Frame packs m and frames it: header, TPDU when the framing has one, message.
func Frame(f wire.Framing, p wire.Packager, tpdu []byte, m *wire.Message) ([]byte, error) {
	b, err := p.Pack(m)
	if err != nil {
		return nil, err
	}
	return f.AppendFrame(nil, tpdu, b), nil
}
