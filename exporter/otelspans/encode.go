package otelspans

import (
	"encoding/binary"
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
// A message is written as its tag, its length and its fields: the length
// of a string's or a number's KeyValue is known at once; for the others
// (a span, an event, a link, an array) room for the length is left and
// filled once the fields are written (beginMsg, endMsg), so that a span
// is walked once.

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

// appendLen appends the tag of length-delimited field num and the length
// n. Every field number here is below 16, a one-byte tag, and most
// lengths take one or two bytes: those are appended directly, without
// protowire's general varint.
func appendLen(b []byte, num protowire.Number, n int) []byte {
	if num < 16 {
		tag := byte(num)<<3 | byte(protowire.BytesType)
		switch {
		case n < 1<<7:
			return append(b, tag, byte(n))
		case n < 1<<14:
			return append(b, tag, byte(n)|0x80, byte(n>>7))
		}
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

// validUTF8 returns s, with invalid UTF-8 replaced: a receiver refuses a
// whole request for one invalid string. Every string is checked as it is
// written.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// reserved is the room left for a message's length before its fields are
// written: 3 bytes hold a length up to 2 MiB; endMsg moves the fields when
// the length takes fewer or more. Sizing every message before writing it
// would walk each span twice.
const reserved = 3

// beginMsg appends the tag of message field num and room for its length,
// and returns where the length goes.
func beginMsg(b []byte, num protowire.Number) ([]byte, int) {
	if num < 16 {
		at := len(b) + 1
		return append(b, byte(num)<<3|byte(protowire.BytesType), 0, 0, 0), at
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	at := len(b)
	return append(b, 0, 0, 0), at
}

// endMsg writes the length of the message begun at at, now that its
// fields are written.
func endMsg(b []byte, at int) []byte {
	n := len(b) - at - reserved
	v := protowire.SizeVarint(uint64(n))
	if v != reserved {
		if v > reserved {
			b = append(b, make([]byte, v-reserved)...)
		}
		copy(b[at+v:], b[at+reserved:at+reserved+n])
		b = b[:at+v+n]
	}
	protowire.AppendVarint(b[at:at], uint64(n)) // in place: the room is there
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = appendLen(b, num, len(s))
	return append(b, s...)
}

func appendBytes(b []byte, num protowire.Number, s []byte) []byte {
	b = appendLen(b, num, len(s))
	return append(b, s...)
}

// optStringSize sizes a string field written only when not empty.
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

// varintFieldSizeOf sizes a varint field written only when not zero.
func varintFieldSizeOf(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return tagSize(num) + protowire.SizeVarint(v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	if num < 16 && v < 1<<7 {
		return append(b, byte(num)<<3|byte(protowire.VarintType), byte(v))
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64Field(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	if num < 16 {
		return binary.LittleEndian.AppendUint64(append(b, byte(num)<<3|byte(protowire.Fixed64Type)), v)
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

// scalarSize returns the size of the AnyValue of a bool, number or empty
// value.
func scalarSize(v attribute.Value) int {
	switch v.Type() {
	case attribute.BOOL:
		return tagSize(fAnyBool) + 1
	case attribute.INT64:
		return tagSize(fAnyInt) + protowire.SizeVarint(uint64(v.AsInt64()))
	case attribute.FLOAT64:
		return tagSize(fAnyDouble) + 8
	}
	return 0
}

// appendKeyValues appends kvs as repeated field num, each string made
// valid UTF-8 as it is written.
func appendKeyValues(b []byte, num protowire.Number, kvs []attribute.KeyValue) []byte {
	for i := range kvs {
		b = appendKeyValue(b, num, &kvs[i])
	}
	return b
}

func appendKeyValue(b []byte, num protowire.Number, kv *attribute.KeyValue) []byte {
	return appendKV(b, num, validUTF8(string(kv.Key)), &kv.Value)
}

// appendKV appends a KeyValue of key, already valid UTF-8, and v.
func appendKV(b []byte, num protowire.Number, key string, v *attribute.Value) []byte {
	switch v.Type() {
	case attribute.STRING: // most attributes: sized directly
		s := validUTF8(v.AsString())
		vs := lenSize(fAnyString, len(s))
		b = appendLen(b, num, lenSize(fKVKey, len(key))+lenSize(fKVValue, vs))
		b = appendString(b, fKVKey, key)
		b = appendLen(b, fKVValue, vs)
		return appendString(b, fAnyString, s)
	case attribute.BOOL, attribute.INT64, attribute.FLOAT64, attribute.EMPTY:
		vs := scalarSize(*v)
		b = appendLen(b, num, lenSize(fKVKey, len(key))+lenSize(fKVValue, vs))
		b = appendString(b, fKVKey, key)
		b = appendLen(b, fKVValue, vs)
		return appendAnyValue(b, *v)
	}
	b, at := beginMsg(b, num)
	b = appendString(b, fKVKey, key)
	b, vat := beginMsg(b, fKVValue)
	b = appendAnyValue(b, *v)
	b = endMsg(b, vat)
	return endMsg(b, at)
}

// appendAnyValue appends the fields of v's AnyValue, as the SDK's
// exporter fills them.
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
		return appendString(b, fAnyString, validUTF8(v.AsString()))
	case attribute.BYTESLICE:
		return appendBytes(b, fAnyBytes, v.AsByteSlice())
	case attribute.EMPTY:
		return b
	case attribute.BOOLSLICE:
		return appendArray(b, v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		return appendArray(b, v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		return appendArray(b, v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		return appendArray(b, v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		return appendArray(b, v.AsSlice(), func(x attribute.Value) attribute.Value { return x })
	case attribute.MAP:
		b, at := beginMsg(b, fAnyKVList)
		b = appendKeyValues(b, fListValues, v.AsMap())
		return endMsg(b, at)
	default:
		return appendString(b, fAnyString, "INVALID")
	}
}

// appendArray writes xs as an ArrayValue, each element made a Value by
// value.
func appendArray[T any](b []byte, xs []T, value func(T) attribute.Value) []byte {
	b, at := beginMsg(b, fAnyArray)
	for _, x := range xs {
		b = appendElem(b, value(x))
	}
	return endMsg(b, at)
}

// appendElem appends one value of an array.
func appendElem(b []byte, v attribute.Value) []byte {
	b, at := beginMsg(b, fListValues)
	b = appendAnyValue(b, v)
	return endMsg(b, at)
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

// encodeResource returns the fields of the Resource message of res,
// written once per exporter.
func encodeResource(res *resource.Resource) []byte {
	if res == nil {
		return nil
	}
	return appendKeyValues(nil, fResAttributes, res.Attributes()) // sorted by key, as res.Iter gives them
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
	return appendKeyValues(b, fScopeAttributes, attrs)
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
