// Package line is the link layer of a serial POS line, shared by the
// host's serial listener (package gateway) and the simulated serial
// terminal (package terminal): frames STX LEN MSG ETX LRC (package wire's
// LineFraming) acknowledged with ACK or NAK, retransmitted, de-duplicated,
// and presented to code written for streams as a net.Conn.
//
// # Protocol
//
// The receiver of a frame answers ACK (0x06) when its LRC is right and NAK
// (0x15) when it is not; ACK and NAK travel between frames. The sender
// waits Config.ACKTimeout for one; on NAK or on no answer it sends the
// frame again, at most Config.MaxRetransmits times (default 3), then
// gives up with ErrNotAcknowledged. One frame is outstanding at a time.
//
// Line noise costs only the frames it touches: bytes outside frames are
// discarded (and counted), a false STX (a length that is not BCD, zero
// or over 4096, no ETX where the length ends) is dropped and the search
// resumes at the next byte, and a frame that stops mid-way is given up
// after Config.FrameTimeout. A frame byte-equal to the last one
// delivered, arriving within Config.DupWindow of it, is the sender
// repeating a frame whose ACK it missed: it is acknowledged again and not
// delivered again. On the answering side (the host, Config.Answerer) the
// answer already sent to that frame, if any, is sent again, since the
// terminal may have missed it too; a terminal forgets the last frame it
// received as soon as it sends a new request, so an answer repeated to
// its repeated request reaches it.
//
// # Devices
//
// Open opens a device with github.com/tarm/serial (8N1, the given baud;
// ptys ignore the baud) with a 100 ms read timeout, and flushes it. A read
// that times out returns (0, io.EOF) in tarm/serial; a device that hung up
// returns the same at once, so three such returns in a row well under
// the timeout, a read or write error, or the device path no longer naming
// the device that was opened (checked every second) end the Link with an
// error wrapping ErrDeviceGone. The owner reopens (the gateway with a
// bounded backoff, the terminal's Client on its next try).
//
// # Limits
//
// A Link holds at most maxQueuedFrames received frames that its reader
// has not taken (a frame arriving beyond that is NAKed, so the sender
// retries), and one frame of its own. tarm/serial has no write deadline:
// a write blocks until the kernel takes the frame (at most 4101 bytes),
// which a hung-up device refuses at once with an error.
//
// # Card data
//
// Frames carry card data; this package never logs or puts in an error a
// frame's bytes, only counts, kinds and the device path.
package line
