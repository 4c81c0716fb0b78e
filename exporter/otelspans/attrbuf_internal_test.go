package otelspans

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

// Attributes encoded as they are set (attrbuf.go) keep the SDK's rules: a
// key set again keeps its first place and takes its last value, whatever
// its type and size; beyond 128 keys a new one is dropped, counted.
func TestOTLPAttributesSetAgainMatchTheSDK(t *testing.T) {
	big := strings.Repeat("x", 3000)
	use := func(tp trace.TracerProvider) {
		tr := tp.Tracer("lib")
		_, s := tr.Start(context.Background(), "dups", trace.WithAttributes(
			attribute.String("a", "1"), attribute.Int("b", 2), attribute.String("a", "3"), attribute.String("c", "4")))
		s.SetAttributes(attribute.String("c", "last set again"), attribute.Bool("a", true))
		s.SetAttributes(attribute.StringSlice("b", []string{"x", "y"}), attribute.String("d", big))
		for i := range 10 { // a large value set again and again: its old bytes are let go
			s.SetAttributes(attribute.String("b", fmt.Sprint(i, big)))
		}
		s.SetAttributes(attribute.KeyValue{}, attribute.String("e", "é"))
		s.End()

		_, s = tr.Start(context.Background(), "limit")
		for i := range 200 {
			s.SetAttributes(attribute.Int(fmt.Sprint("k", i%150), i))
		}
		s.SetAttributes(attribute.String("k3", "again"), attribute.String("new", "dropped"))
		s.End()
	}
	sdk, ours := bothTracers(t, use)
	for _, name := range []string{"dups", "limit"} {
		require.Contains(t, sdk, name)
		require.Contains(t, ours, name)
		w, g := sdk[name].Spans[0], ours[name].Spans[0]
		assert.Equal(t, w.DroppedAttributesCount, g.DroppedAttributesCount, name)
		require.Len(t, g.Attributes, len(w.Attributes), name)
		for i := range w.Attributes {
			assert.True(t, proto.Equal(w.Attributes[i], g.Attributes[i]), "%s: attribute %d (%s) differs", name, i, w.Attributes[i].GetKey())
		}
	}
}

// Keys that are not valid UTF-8 are told apart as given, as the SDK does,
// though each is sent with U+FFFD in place of its bad bytes.
func TestOTLPAttributesInvalidKeysAreDistinct(t *testing.T) {
	var a attrBuf
	for _, kv := range []attribute.KeyValue{
		attribute.String("\xff", "1"), attribute.String("\xfe", "2"), attribute.String("\uFFFD", "3"),
		attribute.String("\xfe", "4"), attribute.String("\uFFFD", "5"),
	} {
		require.True(t, a.set(&kv, attrCountLimit))
	}
	require.Equal(t, 3, a.len())
	got := string(a.appendTo(nil))
	for _, v := range []string{"1", "4", "5"} {
		assert.Contains(t, got, "\uFFFD\x12\x03\x0a\x01"+v)
	}
	assert.NotContains(t, got, "\x0a\x012")
	assert.NotContains(t, got, "\x0a\x013")
}

// A record back in the pool keeps no large attribute buffer.
func TestOTLPAttributesLargeBufferNotPooled(t *testing.T) {
	var r spanRecord
	r.setAttributes([]attribute.KeyValue{attribute.String("p", strings.Repeat("x", 2*maxPooledAttrBuf))})
	r.attrs = r.attrs.reset()
	assert.Zero(t, cap(r.attrs.buf))
	r.setAttributes([]attribute.KeyValue{attribute.String("p", "small")})
	r.attrs = r.attrs.reset()
	assert.NotZero(t, cap(r.attrs.buf))
	assert.Zero(t, r.attrs.len())
}
