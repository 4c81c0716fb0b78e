package otelspans

import (
	"math"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/protobuf/encoding/protowire"
)

// The OTLP protobuf encoding of NewOTLP's spans, written by hand with
// protowire: each span is appended to its batch's buffer when it ends,
// with no message structs in between. Field numbers are those of
// opentelemetry/proto (trace/v1/trace.proto, common/v1/common.proto,
// collector/trace/v1/trace_service.proto); fields are written as the
// OpenTelemetry SDK's OTLP exporter fills them, so that a receiver decodes
// the same messages from either (TestNewOTLPSpansEqualTheSDKs).
//
// A message is written as its tag, its length and its fields: every
// append function has a size function giving the length first, so that
// nothing is encoded twice or copied.

// Field numbers.
const (
	fReqResourceSpans = 1 // ExportTraceServiceRequest

	fRSResource   = 1 // ResourceSpans
	fRSScopeSpans = 2
	fRSSchemaURL  = 3

	fResAttributes = 1 // Resource

	fSSScope     = 1 // ScopeSpans
	fSSSpans     = 2
	fSSSchemaURL = 3

	fScopeName       = 1 // InstrumentationScope
	fScopeVersion    = 2
	fScopeAttributes = 3

	fSpanTraceID      = 1 // Span
	fSpanSpanID       = 2
	fSpanTraceState   = 3
	fSpanParentSpanID = 4
	fSpanName         = 5
	fSpanKind         = 6
	fSpanStart        = 7
	fSpanEnd          = 8
	fSpanAttributes   = 9
	fSpanDroppedAttrs = 10
	fSpanEvents       = 11
	fSpanDroppedEvts  = 12
	fSpanLinks        = 13
	fSpanDroppedLinks = 14
	fSpanStatus       = 15
	fSpanFlags        = 16

	fEventTime    = 1 // Span.Event
	fEventName    = 2
	fEventAttrs   = 3
	fEventDropped = 4

	fLinkTraceID = 1 // Span.Link
	fLinkSpanID  = 2
	fLinkAttrs   = 4
	fLinkDropped = 5
	fLinkFlags   = 6

	fStatusMessage = 2 // Status
	fStatusCode    = 3

	fKVKey   = 1 // KeyValue
	fKVValue = 2

	fAnyString = 1 // AnyValue
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
	fAnyArray  = 5
	fAnyKVList = 6
	fAnyBytes  = 7

	fListValues = 1 // ArrayValue, KeyValueList

	fPartialSuccess  = 1 // ExportTraceServiceResponse
	fPartialRejected = 1 // ExportTracePartialSuccess
	fPartialMessage  = 2
)

// The OTLP span flags: the low byte holds the W3C trace flags.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// OTLP status codes (codes.Code numbers them differently).
const (
	statusOK    = 1
	statusError = 2
)

func tagSize(num protowire.Number) int { return protowire.SizeTag(num) }

// lenSize returns the size of a length-delimited field of n bytes.
func lenSize(num protowire.Number, n int) int {
	return tagSize(num) + protowire.SizeVarint(uint64(n)) + n
}

func appendLen(b []byte, num protowire.Number, n int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

// validUTF8 returns s, with invalid UTF-8 replaced: a receiver refuses a
// whole request for one invalid string. The encoding functions take valid
// strings: what a span recorded is made valid once, when it ends
// (spanRecord.makeValid).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// validAttr returns kv with its key and every string of its value valid
// UTF-8, and whether it had to change it.
func validAttr(kv attribute.KeyValue) (attribute.KeyValue, bool) {
	changed := false
	if !utf8.ValidString(string(kv.Key)) {
		kv.Key, changed = attribute.Key(validUTF8(string(kv.Key))), true
	}
	switch kv.Value.Type() {
	case attribute.STRING:
		if s := kv.Value.AsString(); !utf8.ValidString(s) {
			kv.Value, changed = attribute.StringValue(validUTF8(s)), true
		}
	case attribute.STRINGSLICE:
		ss := kv.Value.AsStringSlice()
		for i, s := range ss {
			if !utf8.ValidString(s) {
				ss[i], changed = validUTF8(s), true
			}
		}
		if changed {
			kv.Value = attribute.StringSliceValue(ss)
		}
	case attribute.SLICE:
		vs := kv.Value.AsSlice()
		c := false
		for i, v := range vs {
			var ch bool
			if vs[i], ch = validValue(v); ch {
				c = true
			}
		}
		if c {
			kv.Value, changed = attribute.SliceValue(vs...), true
		}
	case attribute.MAP:
		m := kv.Value.AsMap()
		if validAttrsInPlace(m) {
			kv.Value, changed = attribute.MapValue(m...), true
		}
	}
	return kv, changed
}

func validValue(v attribute.Value) (attribute.Value, bool) {
	kv, changed := validAttr(attribute.KeyValue{Key: "k", Value: v})
	return kv.Value, changed
}

// validAttrsInPlace makes every attribute of kvs valid UTF-8, and reports
// whether it changed one.
func validAttrsInPlace(kvs []attribute.KeyValue) bool {
	changed := false
	for i := range kvs {
		kv := &kvs[i]
		if utf8.ValidString(string(kv.Key)) {
			switch kv.Value.Type() {
			case attribute.STRING:
				if utf8.ValidString(kv.Value.AsString()) {
					continue
				}
			case attribute.STRINGSLICE, attribute.SLICE, attribute.MAP:
			default:
				continue
			}
		}
		if fixed, c := validAttr(*kv); c {
			*kv, changed = fixed, true
		}
	}
	return changed
}

// validAttrs returns kvs, or a copy made valid UTF-8.
func validAttrs(kvs []attribute.KeyValue) []attribute.KeyValue {
	cp := append([]attribute.KeyValue(nil), kvs...)
	if validAttrsInPlace(cp) {
		return cp
	}
	return kvs
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = appendLen(b, num, len(s))
	return append(b, s...)
}

func appendBytes(b []byte, num protowire.Number, s []byte) []byte {
	b = appendLen(b, num, len(s))
	return append(b, s...)
}

// optString sizes a string field written only when not empty.
func optStringSize(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return lenSize(num, len(s))
}

func appendOptString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(b, num, s)
}

func varintFieldSize(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return tagSize(num) + protowire.SizeVarint(v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func fixed64FieldSize(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return tagSize(num) + 8
}

func appendFixed64Field(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

// anyValueSize returns the size of v's AnyValue message.
func anyValueSize(v attribute.Value) int {
	switch v.Type() {
	case attribute.BOOL:
		return tagSize(fAnyBool) + 1
	case attribute.INT64:
		return tagSize(fAnyInt) + protowire.SizeVarint(uint64(v.AsInt64()))
	case attribute.FLOAT64:
		return tagSize(fAnyDouble) + 8
	case attribute.STRING:
		return lenSize(fAnyString, len(v.AsString()))
	case attribute.BYTESLICE:
		return lenSize(fAnyBytes, len(v.AsByteSlice()))
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE, attribute.SLICE:
		return lenSize(fAnyArray, arrayBodySize(v))
	case attribute.MAP:
		return lenSize(fAnyKVList, keyValuesSize(fListValues, v.AsMap()))
	case attribute.EMPTY:
		return 0
	default:
		return lenSize(fAnyString, len("INVALID"))
	}
}

func appendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		b = protowire.AppendTag(b, fAnyBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, fAnyInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, fAnyDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		return appendString(b, fAnyString, v.AsString())
	case attribute.BYTESLICE:
		return appendBytes(b, fAnyBytes, v.AsByteSlice())
	case attribute.EMPTY:
		return b
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE, attribute.SLICE:
		b = appendLen(b, fAnyArray, arrayBodySize(v))
		return appendArrayBody(b, v)
	case attribute.MAP:
		kvs := v.AsMap()
		b = appendLen(b, fAnyKVList, keyValuesSize(fListValues, kvs))
		return appendKeyValues(b, fListValues, kvs)
	default:
		return appendString(b, fAnyString, "INVALID")
	}
}

// arrayBodySize returns the size of an array value's ArrayValue message.
func arrayBodySize(v attribute.Value) int {
	n := 0
	switch v.Type() {
	case attribute.BOOLSLICE:
		n = len(v.AsBoolSlice()) * lenSize(fListValues, tagSize(fAnyBool)+1)
	case attribute.INT64SLICE:
		for _, x := range v.AsInt64Slice() {
			n += lenSize(fListValues, tagSize(fAnyInt)+protowire.SizeVarint(uint64(x)))
		}
	case attribute.FLOAT64SLICE:
		n = len(v.AsFloat64Slice()) * lenSize(fListValues, tagSize(fAnyDouble)+8)
	case attribute.STRINGSLICE:
		for _, s := range v.AsStringSlice() {
			n += lenSize(fListValues, lenSize(fAnyString, len(s)))
		}
	case attribute.SLICE:
		for _, x := range v.AsSlice() {
			n += lenSize(fListValues, anyValueSize(x))
		}
	}
	return n
}

func appendArrayBody(b []byte, v attribute.Value) []byte {
	elem := func(b []byte, x attribute.Value) []byte {
		b = appendLen(b, fListValues, anyValueSize(x))
		return appendAnyValue(b, x)
	}
	switch v.Type() {
	case attribute.BOOLSLICE:
		for _, x := range v.AsBoolSlice() {
			b = elem(b, attribute.BoolValue(x))
		}
	case attribute.INT64SLICE:
		for _, x := range v.AsInt64Slice() {
			b = elem(b, attribute.Int64Value(x))
		}
	case attribute.FLOAT64SLICE:
		for _, x := range v.AsFloat64Slice() {
			b = elem(b, attribute.Float64Value(x))
		}
	case attribute.STRINGSLICE:
		for _, x := range v.AsStringSlice() {
			b = elem(b, attribute.StringValue(x))
		}
	case attribute.SLICE:
		for _, x := range v.AsSlice() {
			b = elem(b, x)
		}
	}
	return b
}

// keyValueSize returns the size of kv's KeyValue message.
func keyValueSize(kv attribute.KeyValue) int {
	return lenSize(fKVKey, len(kv.Key)) + lenSize(fKVValue, anyValueSize(kv.Value))
}

// keyValuesSize returns the size of kvs as repeated field num.
func keyValuesSize(num protowire.Number, kvs []attribute.KeyValue) int {
	n := 0
	for _, kv := range kvs {
		n += lenSize(num, keyValueSize(kv))
	}
	return n
}

func appendKeyValues(b []byte, num protowire.Number, kvs []attribute.KeyValue) []byte {
	for _, kv := range kvs {
		vs := anyValueSize(kv.Value)
		b = appendLen(b, num, lenSize(fKVKey, len(kv.Key))+lenSize(fKVValue, vs))
		b = appendString(b, fKVKey, string(kv.Key))
		b = appendLen(b, fKVValue, vs)
		b = appendAnyValue(b, kv.Value)
	}
	return b
}

// statusSize returns the size of a span's Status message.
func statusSize(code codes.Code, msg string) int {
	return varintFieldSize(fStatusCode, otlpStatus(code)) + optStringSize(fStatusMessage, msg)
}

func otlpStatus(code codes.Code) uint64 {
	switch code {
	case codes.Ok:
		return statusOK
	case codes.Error:
		return statusError
	}
	return 0
}

// unixNano returns t in nanoseconds since the epoch, 0 before it, as the
// SDK's exporter writes a time.
func unixNano(ns int64) uint64 { return uint64(max(0, ns)) }

// encodeResource returns the Resource message of res and its schema URL,
// written once per exporter.
func encodeResource(res *resource.Resource) []byte {
	if res == nil {
		return nil
	}
	attrs := validAttrs(res.Attributes()) // sorted by key, as res.Iter gives them
	b := make([]byte, 0, keyValuesSize(fResAttributes, attrs))
	return appendKeyValues(b, fResAttributes, attrs)
}

// encodeScope returns the InstrumentationScope message of a tracer, nil
// for the zero scope (the SDK's exporter writes none then).
func encodeScope(name, version string, attrs []attribute.KeyValue) []byte {
	if name == "" && version == "" && len(attrs) == 0 {
		return nil
	}
	var b []byte
	b = appendOptString(b, fScopeName, validUTF8(name))
	b = appendOptString(b, fScopeVersion, validUTF8(version))
	return appendKeyValues(b, fScopeAttributes, validAttrs(attrs))
}

// parsePartialSuccess reads an ExportTraceServiceResponse: the number of
// spans the backend rejected and its message. A body it cannot read
// counts nothing rejected.
func parsePartialSuccess(b []byte) (rejected int64, msg string) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, ""
		}
		b = b[n:]
		if num == fPartialSuccess && typ == protowire.BytesType {
			ps, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, ""
			}
			b = b[n:]
			for len(ps) > 0 {
				num, typ, n := protowire.ConsumeTag(ps)
				if n < 0 {
					return rejected, msg
				}
				ps = ps[n:]
				switch {
				case num == fPartialRejected && typ == protowire.VarintType:
					v, n := protowire.ConsumeVarint(ps)
					if n < 0 {
						return rejected, msg
					}
					rejected, ps = int64(v), ps[n:]
				case num == fPartialMessage && typ == protowire.BytesType:
					v, n := protowire.ConsumeBytes(ps)
					if n < 0 {
						return rejected, msg
					}
					msg, ps = string(v), ps[n:]
				default:
					n := protowire.ConsumeFieldValue(num, typ, ps)
					if n < 0 {
						return rejected, msg
					}
					ps = ps[n:]
				}
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return rejected, msg
		}
		b = b[n:]
	}
	return rejected, msg
}
