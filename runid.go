package flowtrace

import (
	"encoding/hex"
	"math/rand/v2"
	"unsafe"
)

// newRunID returns a random (version 4) UUID, as a string and as the bytes
// a trace ID is made of. math/rand/v2's generator is a ChaCha8 stream
// seeded by the operating system: unpredictable enough for identifiers,
// and an order of magnitude cheaper than reading crypto/rand per run. The
// string is the text written in buf, which the caller keeps with the run:
// no allocation of its own.
func newRunID(buf *[36]byte) (string, [16]byte) {
	var u [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant RFC 9562
	s := buf[:]
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return unsafe.String(&s[0], len(s)), u // buf is never written again
}
