package wire_test

import (
	"bufio"
	"bytes"
	"fmt"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// A sign-on request in the default layout: ascii packager, len2 framing.
func Example() {
	p, _ := wire.NewPackager("ascii")
	f, _ := wire.ParseFraming("len2")

	req := wire.NewMessage("0800").
		Set(7, "1123143015").Set(11, "000124").
		Set(41, "TERM0001").Set(42, "MERCHANT0000001").
		Set(70, "001")
	msg, err := p.Pack(req)
	if err != nil {
		panic(err)
	}
	frame := f.AppendFrame(nil, nil, msg)
	fmt.Printf("% X\n", frame)
	// Output:
	// 00 3E 30 38 30 30 82 20 00 00 00 C0 00 00 04 00 00 00 00 00 00 00 31 31 32 33 31 34 33 30 31 35 30 30 30 31 32 34 54 45 52 4D 30 30 30 31 4D 45 52 43 48 41 4E 54 30 30 30 30 30 30 31 30 30 31
}

// Reading requests and answering them with the TPDU swapped.
func ExampleFraming_ReadFrame() {
	f, _ := wire.ParseFraming("len2+tpdu")
	p, _ := wire.NewPackager("bcd")

	// What a terminal sends: 60 0001 0002, then an echo test 0800/301.
	in, _ := p.Pack(wire.NewMessage("0800").Set(11, "000001").Set(70, "301"))
	conn := bytes.NewReader(f.AppendFrame(nil, []byte{0x60, 0x00, 0x01, 0x00, 0x02}, in))

	r := bufio.NewReader(conn)
	buf := make([]byte, wire.MaxFrameBytes)
	tpdu, msg, err := f.ReadFrame(r, buf)
	if err != nil {
		panic(err) // the host closes the connection
	}
	req, err := p.Unpack(msg) // copies: req does not alias buf
	if err != nil {
		panic(err)
	}
	resp := wire.NewMessage("0810").Set(11, req.Fields[11]).Set(39, "00").Set(70, req.Fields[70])
	out, _ := p.Pack(resp)
	fmt.Printf("% X\n", f.AppendFrame(nil, wire.SwapTPDU(tpdu), out))
	// Output:
	// 00 1E 60 00 02 00 01 08 10 80 20 00 00 02 00 00 00 04 00 00 00 00 00 00 00 00 00 01 30 30 03 01
}
