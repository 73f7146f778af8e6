//go:build !linux

package vcard

import "net"

// quickAck is Linux's TCP_QUICKACK; elsewhere nothing.
func quickAck(net.Conn) {}
