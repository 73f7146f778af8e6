package line

import (
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// stalledPort is a device that stops draining: reads time out as
// tarm/serial's do, a write blocks until the port is closed.
type stalledPort struct {
	closed chan struct{}
	once   sync.Once
}

func (p *stalledPort) Read([]byte) (int, error) {
	select {
	case <-p.closed:
		return 0, io.ErrClosedPipe
	case <-time.After(100 * time.Millisecond): // tarm/serial's read timeout
		return 0, io.EOF
	}
}

func (p *stalledPort) Write(b []byte) (int, error) {
	<-p.closed
	return 0, io.ErrClosedPipe
}

func (p *stalledPort) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// TestWriteHasADeadline: a write that makes no progress ends the link
// (ErrDeviceGone) instead of blocking its sender for ever.
func TestWriteHasADeadline(t *testing.T) {
	p := &stalledPort{closed: make(chan struct{})}
	f, err := wire.ParseLineFraming(wire.DefaultLineFraming)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLink(p, Config{Framing: f, Device: "stalled"})
	defer l.Close()
	err = l.Send([]byte("0800"), time.Time{})
	if !errors.Is(err, ErrDeviceGone) {
		t.Fatalf("send on a stalled device: %v, want ErrDeviceGone", err)
	}
	select {
	case <-l.Dead():
	default:
		t.Fatal("the link still runs after a stalled write")
	}
}
