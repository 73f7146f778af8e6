package wire

// Message is one unpacked ISO 8583 message. Field values are exactly as
// on the wire after decoding the packager's encoding: n fields as their digit
// strings (fixed fields keep their zero padding, e.g. f4 "000000001250"),
// z (track 2) with '=' as separator (a BCD 0xD nibble becomes '='; an ASCII
// 'D' stays 'D'), an/ans as text, b fields as raw bytes in a string.
// Content is NOT validated on Unpack (a letter in an n field unpacks fine; the
// gateway's validator answers 30 for it). Fields 1 (secondary bitmap) and the
// bitmaps are never in Fields: Pack sets them from which fields are present.
//
// Fields holds card data (2, 35, 52, 55): never log a Message as it is.
// A Message is not safe for concurrent mutation.
type Message struct {
	MTI    string
	Fields map[int]string
}

// NewMessage returns an empty message with the given MTI.
func NewMessage(mti string) *Message {
	return &Message{MTI: mti, Fields: make(map[int]string)}
}

// Set sets field n to v and returns m, so calls chain:
// NewMessage("0810").Set(39, "00").Set(70, "001").
func (m *Message) Set(n int, v string) *Message {
	if m.Fields == nil {
		m.Fields = make(map[int]string)
	}
	m.Fields[n] = v
	return m
}

// Get returns field n and whether it is present.
func (m *Message) Get(n int) (string, bool) {
	v, ok := m.Fields[n]
	return v, ok
}

// Has reports whether field n is present.
func (m *Message) Has(n int) bool {
	_, ok := m.Fields[n]
	return ok
}

// Clone returns a copy of m that shares nothing mutable with it.
func (m *Message) Clone() *Message {
	c := &Message{MTI: m.MTI, Fields: make(map[int]string, len(m.Fields))}
	for n, v := range m.Fields {
		c.Fields[n] = v
	}
	return c
}
