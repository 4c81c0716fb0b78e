package otelspans

import (
	"slices"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// attrBuf holds a span's attributes encoded as they are set: each one is
// a Span.attributes KeyValue field in buf, so that End copies bytes
// instead of walking attribute values again, and an open span holds no
// copies of them (bytes the garbage collector does not scan).
//
// ents keeps the attributes' order, one per key. A key set again is
// encoded anew at the end of buf and its entry pointed there, keeping its
// place; the old bytes are left until they outweigh the live ones.
type attrBuf struct {
	buf     []byte
	ents    []attrEnt
	moved   bool     // ents no longer cover buf in order
	garbage int      // bytes of buf no entry covers
	badKeys []string // the keys that are not valid UTF-8, as given
}

// attrEnt is one attribute: its field in buf[off:end], its key (as sent)
// in buf[koff:koff+klen]; bad indexes badKeys, or is -1.
type attrEnt struct {
	off, end, koff, klen int32
	bad                  int32
}

// maxPooledAttrBuf is the most of a buffer a record keeps when it
// returns to the pool: one span's large attribute does not stay held.
const maxPooledAttrBuf = 64 << 10

// reset empties a, keeping its buffers unless large.
func (a *attrBuf) reset() attrBuf {
	buf, ents := a.buf[:0], a.ents[:0]
	if cap(buf) > maxPooledAttrBuf {
		buf = nil
	}
	return attrBuf{buf: buf, ents: ents}
}

// grow makes room for kv at once, estimating the size of strings and
// numbers, instead of growing buf attribute by attribute.
func (a *attrBuf) grow(kv []attribute.KeyValue) {
	kv = kv[:min(len(kv), max(0, attrCountLimit-len(a.ents)))] // no room is made for those dropped
	n := 0
	for i := range kv {
		n += len(kv[i].Key) + 16
		if kv[i].Value.Type() == attribute.STRING {
			n += len(kv[i].Value.AsString())
		}
	}
	a.buf = slices.Grow(a.buf, n)
	a.ents = slices.Grow(a.ents, len(kv))
}

// find returns the entry of key k, or -1.
func (a *attrBuf) find(k string, valid bool) int {
	for i := range a.ents {
		e := &a.ents[i]
		if e.bad >= 0 { // compared as given: two invalid keys may be sent alike
			if !valid && a.badKeys[e.bad] == k {
				return i
			}
			continue
		}
		if valid && int(e.klen) == len(k) && string(a.buf[e.koff:e.koff+e.klen]) == k {
			return i
		}
	}
	return -1
}

// set sets kv: replaced in place if its key is there, else appended if
// fewer than limit are; it says whether kv was kept.
func (a *attrBuf) set(kv *attribute.KeyValue, limit int) bool {
	k := string(kv.Key)
	valid := utf8.ValidString(k)
	i := a.find(k, valid)
	if i < 0 && len(a.ents) >= limit {
		return false
	}
	if i >= 0 && !a.moved && i == len(a.ents)-1 {
		// The last one set again: its bytes are the tail of buf.
		a.buf = a.buf[:a.ents[i].off]
	} else if i >= 0 {
		a.moved = true
		a.garbage += int(a.ents[i].end - a.ents[i].off)
	}
	v := &kv.Value
	if t := v.Type(); t == attribute.SLICE || t == attribute.MAP {
		n := normAttr(*kv)
		v = &n.Value
	}
	if !valid {
		k = validUTF8(k)
	}
	off := len(a.buf)
	a.buf = appendKV(a.buf, fSpanAttributes, k, v)
	e := attrEnt{off: int32(off), end: int32(len(a.buf)), bad: -1}
	e.koff, e.klen = keyAt(a.buf, off)
	if i >= 0 {
		e.bad = a.ents[i].bad
		a.ents[i] = e
	} else {
		if !valid {
			e.bad = int32(len(a.badKeys))
			a.badKeys = append(a.badKeys, string(kv.Key))
		}
		a.ents = append(a.ents, e)
	}
	if a.garbage > 4<<10 && a.garbage > len(a.buf)/2 {
		a.compact()
	}
	return true
}

// keyAt returns where the key of the KeyValue field at buf[off:] is: past
// the field's tag and length, the key's tag and length.
func keyAt(buf []byte, off int) (int32, int32) {
	p := off + 1 // the field's one-byte tag
	for buf[p] >= 0x80 {
		p++
	}
	p += 2 // the length's last byte, the key's one-byte tag
	klen, n := 0, 0
	for shift := 0; ; shift += 7 {
		c := buf[p+n]
		klen |= int(c&0x7f) << shift
		n++
		if c < 0x80 {
			break
		}
	}
	return int32(p + n), int32(klen)
}

// compact rewrites buf with the live entries only, in order.
func (a *attrBuf) compact() {
	nb := make([]byte, 0, len(a.buf)-a.garbage)
	for i := range a.ents {
		e := &a.ents[i]
		d := int32(len(nb)) - e.off
		nb = append(nb, a.buf[e.off:e.end]...)
		e.off, e.end, e.koff = e.off+d, e.end+d, e.koff+d
	}
	a.buf, a.moved, a.garbage = nb, false, 0
}

// appendTo appends the attributes, in order, as Span.attributes fields.
func (a *attrBuf) appendTo(b []byte) []byte {
	if !a.moved {
		return append(b, a.buf...)
	}
	for i := range a.ents {
		b = append(b, a.buf[a.ents[i].off:a.ents[i].end]...)
	}
	return b
}

// len returns the number of attributes.
func (a *attrBuf) len() int { return len(a.ents) }
