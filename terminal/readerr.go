package terminal

import "errors"

// Errors of PC/SC reader access (pcsc.go), named in docs/devices.md.
var (
	ErrNoPCSC      = errors.New("no PC/SC service")
	ErrNoReader    = errors.New("no reader")
	ErrCardMute    = errors.New("card mute")
	ErrCardGone    = errors.New("card removed or not answering")
	ErrCardTimeout = errors.New("card command timed out")
)
