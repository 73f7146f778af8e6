package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
)

func mustPackager(t testing.TB, name string) wire.Packager {
	t.Helper()
	p, err := wire.NewPackager(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustFraming(t testing.TB, s string) wire.Framing {
	t.Helper()
	f, err := wire.ParseFraming(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newTestClient(t testing.TB, h *fakeHost, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{Dial: TCPDialer(h.addr()), Framing: h.framing, Packager: h.pk}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func echoReq(tid, stan string) *wire.Message {
	return wire.NewMessage("0800").Set(7, "1123140000").Set(11, stan).Set(41, tid).Set(42, "M00000000000001").Set(70, "301")
}

func TestClientFramingsAndPackagers(t *testing.T) {
	for _, fr := range []string{"len2", "ascii4", "len2+tpdu", "ascii4+tpdu"} {
		for _, pk := range wire.Packagers {
			t.Run(fr+"/"+pk, func(t *testing.T) {
				var got []frameIn
				var mu sync.Mutex
				h := startFakeHost(t, mustFraming(t, fr), mustPackager(t, pk), func(c *fakeConn, f frameIn) {
					mu.Lock()
					got = append(got, f)
					mu.Unlock()
					c.answer(f, "00", nil)
				})
				c := newTestClient(t, h, nil)
				resp, err := c.Do(context.Background(), echoReq("T0000001", "000001"))
				if err != nil {
					t.Fatal(err)
				}
				if resp.MTI != "0810" || resp.Fields[39] != "00" || resp.Fields[11] != "000001" || resp.Fields[70] != "301" {
					t.Fatalf("response %s %v", resp.MTI, resp.Fields)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(got) != 1 {
					t.Fatalf("host got %d frames", len(got))
				}
				if h.framing.TPDU && !bytes.Equal(got[0].tpdu, DefaultTPDU) {
					t.Fatalf("request TPDU % X, want % X", got[0].tpdu, DefaultTPDU)
				}
			})
		}
	}
}

func TestClientTPDUMustBeSwapped(t *testing.T) {
	h := startFakeHost(t, mustFraming(t, "len2+tpdu"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
		c.send(f.tpdu, response(f.msg, "00", nil)) // not swapped
	})
	c := newTestClient(t, h, nil)
	resp, err := c.Do(context.Background(), echoReq("T0000001", "000001"))
	if !errors.Is(err, ErrTPDUMismatch) {
		t.Fatalf("err = %v, want ErrTPDUMismatch", err)
	}
	if resp == nil || resp.Fields[39] != "00" {
		t.Fatalf("the response should come with the error")
	}
}

// TestClientOutOfOrder keeps n requests in flight and answers them in
// reverse order; each caller must get its own response.
func TestClientOutOfOrder(t *testing.T) {
	const n = 16
	var mu sync.Mutex
	var held []frameIn
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
		mu.Lock()
		held = append(held, f)
		if len(held) < n {
			mu.Unlock()
			return
		}
		all := held
		held = nil
		mu.Unlock()
		for i := len(all) - 1; i >= 0; i-- {
			stan := all[i].msg.Fields[11]
			tid := all[i].msg.Fields[41]
			c.answer(all[i], "00", map[int]string{37: tid[4:] + "0000" + stan[2:]})
		}
	})
	c := newTestClient(t, h, func(cfg *ClientConfig) { cfg.MaxInFlight = n })
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		// Half the requests share STANs with the other half: TID tells them apart.
		tid := fmt.Sprintf("T000%04d", i%2)
		stan := fmt.Sprintf("%06d", i/2+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Do(context.Background(), echoReq(tid, stan))
			if err != nil {
				errs <- err
				return
			}
			if want := tid[4:] + "0000" + stan[2:]; resp.Fields[37] != want || resp.Fields[11] != stan || resp.Fields[41] != tid {
				errs <- fmt.Errorf("%s/%s got response for %s/%s (37=%s)", tid, stan, resp.Fields[41], resp.Fields[11], resp.Fields[37])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := c.Stats(); st.Responses != n || st.Sent != n || st.Connects != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestClientDuplicateInFlight(t *testing.T) {
	first := make(chan frameIn, 1)
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) { first <- f })
	c := newTestClient(t, h, nil)
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(context.Background(), echoReq("T0000001", "000001"))
		done <- err
	}()
	f := <-first // the first is in flight now
	if _, err := c.Do(context.Background(), echoReq("T0000001", "000001")); !errors.Is(err, ErrDuplicateInFlight) {
		t.Fatalf("err = %v, want ErrDuplicateInFlight", err)
	}
	h.mu.Lock()
	conn := h.conns[0]
	h.mu.Unlock()
	conn.answer(f, "00", nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestClientMaxInFlight(t *testing.T) {
	arrived := make(chan frameIn, 4)
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) { arrived <- f })
	c := newTestClient(t, h, func(cfg *ClientConfig) { cfg.MaxInFlight = 2 })
	var wg sync.WaitGroup
	for i := 1; i <= 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Do(context.Background(), echoReq("T0000001", fmt.Sprintf("%06d", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	f1, f2 := <-arrived, <-arrived
	// Both slots are taken: a third request cannot get one and gives up
	// when its context ends, without sending.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Do(ctx, echoReq("T0000001", "000003")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	h.mu.Lock()
	conn := h.conns[0]
	h.mu.Unlock()
	conn.answer(f1, "00", nil)
	conn.answer(f2, "00", nil)
	wg.Wait()
	if st := c.Stats(); st.Sent != 2 || st.Requests != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestClientRetransmitRepeatMTI: an unanswered 0220/0400/0420 is resent as
// its repeat with the same STAN and field 7.
func TestClientRetransmitRepeatMTI(t *testing.T) {
	for _, mti := range []string{"0220", "0400", "0420"} {
		t.Run(mti, func(t *testing.T) {
			var mu sync.Mutex
			var got []frameIn
			h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
				mu.Lock()
				got = append(got, f)
				n := len(got)
				mu.Unlock()
				if n == 3 {
					c.answer(f, "00", nil)
				}
			})
			c := newTestClient(t, h, func(cfg *ClientConfig) { cfg.ResponseTimeout = 30 * time.Millisecond })
			req := wire.NewMessage(mti).Set(3, "000000").Set(4, "000000001000").Set(7, "1123140000").
				Set(11, "000042").Set(41, "T0000001").Set(42, "M00000000000001").
				Set(90, "010000004111231400000000000000000000000000")
			resp, err := c.Do(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if want := wire.ResponseMTI(mti); resp.MTI != want {
				t.Fatalf("response MTI %s, want %s", resp.MTI, want)
			}
			mu.Lock()
			defer mu.Unlock()
			rep, _ := wire.RepeatOf(mti)
			wantMTIs := []string{mti, rep, rep}
			for i, f := range got {
				if f.msg.MTI != wantMTIs[i] || f.msg.Fields[11] != "000042" || f.msg.Fields[7] != "1123140000" || f.msg.Fields[90] != req.Fields[90] {
					t.Errorf("try %d: %s stan %s f7 %s", i+1, f.msg.MTI, f.msg.Fields[11], f.msg.Fields[7])
				}
			}
			if len(got) != 3 {
				t.Fatalf("host got %d frames, want 3", len(got))
			}
			if st := c.Stats(); st.Retransmits != 2 || st.Timeouts != 2 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestClientRetransmitIdentical: 0200 and 0100 are resent byte for byte.
func TestClientRetransmitIdentical(t *testing.T) {
	for _, mti := range []string{"0200", "0100"} {
		t.Run(mti, func(t *testing.T) {
			var mu sync.Mutex
			var got [][]byte
			h := startFakeHost(t, mustFraming(t, "ascii4+tpdu"), mustPackager(t, "bcd"), func(c *fakeConn, f frameIn) {
				mu.Lock()
				got = append(got, f.raw)
				n := len(got)
				mu.Unlock()
				if n == 2 {
					c.answer(f, "51", nil)
				}
			})
			c := newTestClient(t, h, func(cfg *ClientConfig) { cfg.ResponseTimeout = 30 * time.Millisecond })
			req := wire.NewMessage(mti).Set(3, "000000").Set(4, "000000001250").Set(7, "1123140000").
				Set(11, "000007").Set(41, "T0000001").Set(42, "M00000000000001").Set(35, "6210001234567890=4912101").Set(22, "021")
			resp, err := c.Do(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Fields[39] != "51" {
				t.Fatalf("rc %s", resp.Fields[39])
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 2 || !bytes.Equal(got[0], got[1]) {
				t.Fatalf("host got %d frames; identical: %v", len(got), len(got) == 2 && bytes.Equal(got[0], got[1]))
			}
		})
	}
}

// TestClientLateAnswerCounts: the answer to the first try, arriving after
// the second was sent, completes the request.
func TestClientLateAnswerCounts(t *testing.T) {
	var mu sync.Mutex
	var got []frameIn
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
		mu.Lock()
		got = append(got, f)
		n := len(got)
		first := got[0]
		mu.Unlock()
		if n == 2 {
			c.answer(first, "00", map[int]string{37: "FIRST0000001"})
			c.answer(f, "00", map[int]string{37: "SECOND000002"}) // unmatched
		}
	})
	c := newTestClient(t, h, func(cfg *ClientConfig) { cfg.ResponseTimeout = 30 * time.Millisecond })
	resp, err := c.Do(context.Background(), echoReq("T0000001", "000001"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Fields[37] != "FIRST0000001" {
		t.Fatalf("got %s", resp.Fields[37])
	}
}

func TestClientGivesUp(t *testing.T) {
	var mu sync.Mutex
	n := 0
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
		mu.Lock()
		n++
		mu.Unlock()
	})
	c := newTestClient(t, h, func(cfg *ClientConfig) {
		cfg.ResponseTimeout = 20 * time.Millisecond
		cfg.MaxTries = 4
	})
	_, err := c.Do(context.Background(), echoReq("T0000001", "000001"))
	if !errors.Is(err, ErrNoResponse) {
		t.Fatalf("err = %v, want ErrNoResponse", err)
	}
	// The host has read all four frames before the client gave up? Not
	// necessarily: check the client's own count, and that the host saw no
	// more than that.
	if st := c.Stats(); st.Sent != 4 || st.Retransmits != 3 {
		t.Fatalf("stats %+v", st)
	}
	c.Close()
	h.stop()
	mu.Lock()
	defer mu.Unlock()
	if n != 4 {
		t.Fatalf("host got %d frames, want 4", n)
	}
}

// TestClientRedialsAfterConnLoss: the host drops the connection on the first
// request; the second try goes out on a new connection.
func TestClientRedialsAfterConnLoss(t *testing.T) {
	var mu sync.Mutex
	n := 0
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			c.Close()
			return
		}
		c.answer(f, "00", nil)
	})
	c := newTestClient(t, h, nil)
	if _, err := c.Do(context.Background(), echoReq("T0000001", "000001")); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Connects != 2 || st.Sent != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestClientFrameStall: a response frame that stops half way is a broken
// connection once FrameTimeout passes; the retry on a new one succeeds.
func TestClientFrameStall(t *testing.T) {
	var mu sync.Mutex
	n := 0
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			b, _ := c.h.pk.Pack(response(f.msg, "00", nil))
			fr := c.h.framing.AppendFrame(nil, nil, b)
			c.writeRaw(fr[:len(fr)/2])
			return
		}
		c.answer(f, "00", nil)
	})
	c := newTestClient(t, h, func(cfg *ClientConfig) {
		cfg.FrameTimeout = 30 * time.Millisecond
		cfg.ResponseTimeout = 5 * time.Second // the stall, not the response timeout, must end the first try
	})
	start := time.Now()
	if _, err := c.Do(context.Background(), echoReq("T0000001", "000001")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("took %s: the stall was not detected by the frame deadline", d)
	}
	if st := c.Stats(); st.Connects != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestClientCloseFailsInFlight(t *testing.T) {
	arrived := make(chan struct{}, 1)
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) { arrived <- struct{}{} })
	c := newTestClient(t, h, nil)
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(context.Background(), echoReq("T0000001", "000001"))
		done <- err
	}()
	<-arrived
	c.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if _, err := c.Do(context.Background(), echoReq("T0000001", "000002")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestClientDialFailureIsNotNoResponse(t *testing.T) {
	c, err := NewClient(ClientConfig{
		Dial:     func(ctx context.Context) (Conn, error) { return nil, errors.New("refused") },
		Packager: mustPackager(t, "ascii"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Do(context.Background(), echoReq("T0000001", "000001"))
	if err == nil || errors.Is(err, ErrNoResponse) || !errors.Is(err, ErrConnLost) {
		t.Fatalf("err = %v", err)
	}
}

var testTAK = []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01}

// TestClientMAC: with a TAK the request carries a correct MAC (64, or 128
// with field 90) and the response's MAC is checked.
func TestClientMAC(t *testing.T) {
	pk := mustPackager(t, "ascii")
	var mu sync.Mutex
	var reqErrs []string
	mode := "good"
	h := startFakeHost(t, mustFraming(t, "len2"), pk, func(c *fakeConn, f frameIn) {
		macField := 64
		if f.msg.Has(90) {
			macField = 128
		}
		mac, _ := cardcrypto.RetailMAC(testTAK, f.raw[:len(f.raw)-8])
		if f.msg.Fields[macField] != string(mac) {
			mu.Lock()
			reqErrs = append(reqErrs, fmt.Sprintf("%s: request MAC wrong or missing in field %d", f.msg.MTI, macField))
			mu.Unlock()
		}
		mu.Lock()
		m := mode
		mu.Unlock()
		switch m {
		case "58":
			c.answer(f, "58", nil)
			return
		}
		resp := response(f.msg, "00", nil)
		respMAC := 64
		if resp.Has(90) {
			respMAC = 128
		}
		resp.Set(respMAC, "\x00\x00\x00\x00\x00\x00\x00\x00")
		b, _ := pk.Pack(resp)
		rm, _ := cardcrypto.RetailMAC(testTAK, b[:len(b)-8])
		if m == "bad" {
			rm[0] ^= 1
		}
		copy(b[len(b)-8:], rm)
		c.sendMsgBytes(nil, b)
	})
	c := newTestClient(t, h, nil)
	c.SetTAK("T0000001", testTAK)
	purchase := func(stan string) *wire.Message {
		return wire.NewMessage("0200").Set(3, "000000").Set(4, "000000001250").Set(7, "1123140000").
			Set(11, stan).Set(41, "T0000001").Set(42, "M00000000000001").Set(35, "6210001234567890=4912101").Set(22, "021")
	}
	if _, err := c.Do(context.Background(), purchase("000001")); err != nil {
		t.Fatal(err)
	}
	void := purchase("000002").Set(3, "020000").Set(90, "020000000111231400000000000000000000000000")
	if _, err := c.Do(context.Background(), void); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	mode = "bad"
	mu.Unlock()
	if _, err := c.Do(context.Background(), purchase("000003")); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("bad response MAC: err = %v", err)
	}
	mu.Lock()
	mode = "58"
	mu.Unlock()
	if resp, err := c.Do(context.Background(), purchase("000004")); err != nil || resp.Fields[39] != "58" {
		t.Fatalf("58 without MAC: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range reqErrs {
		t.Error(e)
	}
}

func TestRawConn(t *testing.T) {
	fr := mustFraming(t, "len2+tpdu")
	pk := mustPackager(t, "ascii-hexbitmap")
	h := startFakeHost(t, fr, pk, func(c *fakeConn, f frameIn) { c.answer(f, "00", nil) })
	ctx := context.Background()
	rc, err := DialRaw(ctx, TCPDialer(h.addr()), fr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := Frame(fr, pk, DefaultTPDU, echoReq("T0000001", "000009"))
	if err != nil {
		t.Fatal(err)
	}
	tpdu, msg, err := rc.RoundTrip(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tpdu, wire.SwapTPDU(DefaultTPDU)) {
		t.Fatalf("tpdu % X", tpdu)
	}
	m, err := pk.Unpack(msg)
	if err != nil || m.MTI != "0810" {
		t.Fatalf("%v %v", m, err)
	}
	// A zero-length frame: the fake host's ReadFrame fails and it hangs up.
	if err := rc.Write([]byte{0, 0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rc.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want EOF", err)
	}
}
