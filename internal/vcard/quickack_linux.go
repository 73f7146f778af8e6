package vcard

import (
	"net"
	"syscall"
)

// quickAck turns on TCP_QUICKACK, which Linux turns off again after some
// segments: set before each read, it makes the card ACK vpcd's length
// header at once, so vpcd's second write (the APDU) is not held by Nagle
// for a delayed ACK (~40 ms an APDU).
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
