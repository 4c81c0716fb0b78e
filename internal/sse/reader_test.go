package sse_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/flowtrace/flowtrace/internal/sse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// event is one event a recorder was told.
type event struct{ Name, Data string }

// recorder is a Handler that keeps what it is told; its stream's last
// event is the one whose data is lastData.
type recorder struct {
	lastData string
	events   []event
	ends     []sse.Why
	endErr   error
	onEnd    func()
}

func (h *recorder) Event(name, data []byte) bool {
	h.events = append(h.events, event{string(name), string(data)})
	return h.lastData != "" && string(data) == h.lastData
}

func (h *recorder) End(why sse.Why, err error) {
	h.ends = append(h.ends, why)
	h.endErr = err
	if h.onEnd != nil {
		h.onEnd()
	}
}

// readAll reads r whole through a Reader for h, closes it, and returns
// the bytes read.
func readAll(t testing.TB, r io.Reader, h *recorder) []byte {
	t.Helper()
	rd := sse.NewReader(io.NopCloser(r), h)
	read, _ := io.ReadAll(rd)
	require.NoError(t, rd.Close())
	return read
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []event
	}{
		{"data", "data: a\n\n", []event{{"", "a"}}},
		{"named", "event: delta\ndata: a\n\n", []event{{"delta", "a"}}},
		{"lines joined", "data: a\ndata: b\n\n", []event{{"", "a\nb"}}},
		{"CRLF", "event: e\r\ndata: a\r\ndata: b\r\n\r\n", []event{{"e", "a\nb"}}},
		{"no space", "data:a\n\n", []event{{"", "a"}}},
		{"one space removed", "data:  a \n\n", []event{{"", " a "}}},
		{"comments and other fields ignored", ": keep-alive\nid: 7\nretry: 10\ndata: a\n\n", []event{{"", "a"}}},
		{"no data, no event", "event: ping\n\ndata: a\n\n", []event{{"", "a"}}},
		{"empty data, no event", "data:\n\ndata\n\n", nil},
		{"name reset after each event", "event: e\ndata: a\n\ndata: b\n\n", []event{{"e", "a"}, {"", "b"}}},
		{"last name wins", "event: e\nevent: f\ndata: a\n\n", []event{{"f", "a"}}},
		{"undispatched at the end", "data: a\n\ndata: b\n", []event{{"", "a"}}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recorder{}
			read := readAll(t, strings.NewReader(tc.in), h)
			assert.Equal(t, tc.in, string(read), "wanted the bytes passed on unchanged")
			assert.Equal(t, tc.want, h.events, "wanted these events")
		})
	}
}

// stream is a stream with CRLF line ends, a comment, named and unnamed
// events, and a last event followed by more.
const stream = ": keep-alive\r\n\r\n" +
	"event: start\r\ndata: {\"id\":1}\r\n\r\n" +
	"data: one\r\ndata: two\r\n\r\n" +
	"event: stop\r\ndata: [DONE]\r\n\r\n" +
	"data: after\r\n\r\n"

func TestParsedAcrossReadBoundaries(t *testing.T) {
	want := []event{{"start", `{"id":1}`}, {"", "one\ntwo"}, {"stop", "[DONE]"}}
	for name, r := range map[string]func() io.Reader{
		"one read":          func() io.Reader { return strings.NewReader(stream) },
		"one byte per read": func() io.Reader { return iotest.OneByteReader(strings.NewReader(stream)) },
		"half per read":     func() io.Reader { return iotest.HalfReader(strings.NewReader(stream)) },
	} {
		t.Run(name, func(t *testing.T) {
			h := &recorder{lastData: "[DONE]"}
			read := readAll(t, r(), h)
			assert.Equal(t, stream, string(read), "wanted the bytes passed on unchanged")
			assert.Equal(t, want, h.events, "wanted no event after the last")
			assert.Equal(t, []sse.Why{sse.Last}, h.ends, "wanted one end, at the last event")
		})
	}
}

func TestEnd(t *testing.T) {
	errRead := errors.New("connection reset")
	for _, tc := range []struct {
		name    string
		body    io.Reader
		lastSet bool // the recorder knows a last event
		reads   int  // how many Reads before Close; -1: to the end
		want    sse.Why
		wantErr error
	}{
		{"last event", strings.NewReader("data: a\n\ndata: z\n\n"), true, -1, sse.Last, nil},
		{"end of body", strings.NewReader("data: a\n\n"), true, -1, sse.EOF, nil},
		{"read error", io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(errRead)), true, -1, sse.ReadError, errRead},
		{"closed", iotest.OneByteReader(strings.NewReader("data: a\n\ndata: z\n\n")), true, 3, sse.Closed, nil},
		{"closed before any read", strings.NewReader("data: z\n\n"), true, 0, sse.Closed, nil},
		{"closed after the last event", strings.NewReader("data: z\n\nmore"), true, 1, sse.Last, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recorder{lastData: "z"}
			rd := sse.NewReader(io.NopCloser(tc.body), h)
			buf := make([]byte, 512)
			for i := 0; tc.reads < 0 || i < tc.reads; i++ {
				if _, err := rd.Read(buf); err != nil {
					break
				}
			}
			require.NoError(t, rd.Close())
			require.NoError(t, rd.Close(), "wanted a second Close to be harmless")
			assert.Equal(t, []sse.Why{tc.want}, h.ends, "wanted exactly one end, %v", tc.want)
			assert.Equal(t, tc.wantErr, h.endErr, "wanted the read error, and only for ReadError")
		})
	}
}

func TestReadAfterEndPassesBytesOn(t *testing.T) {
	h := &recorder{lastData: "z"}
	rd := sse.NewReader(io.NopCloser(iotest.OneByteReader(strings.NewReader("data: z\n\ndata: y\n\n"))), h)
	read, err := io.ReadAll(rd)
	require.NoError(t, err)
	assert.Equal(t, "data: z\n\ndata: y\n\n", string(read), "wanted every byte after the end too")
	assert.Equal(t, []event{{"", "z"}}, h.events, "wanted no event parsed after the last")
	assert.Equal(t, []sse.Why{sse.Last}, h.ends, "wanted one end")
}

func TestLongLineSkipped(t *testing.T) {
	long := "data: " + strings.Repeat("x", 9<<20) // past 8 MiB before its end arrives
	body := io.MultiReader(strings.NewReader(long), strings.NewReader("\n\ndata: a\n\n"))
	h := &recorder{}
	read := readAll(t, body, h)
	assert.Len(t, read, len(long)+len("\n\ndata: a\n\n"), "wanted every byte passed on")
	require.Len(t, h.events, 1, "wanted the line past 8 MiB skipped")
	assert.Equal(t, event{"", "a"}, h.events[0], "wanted the next event parsed")
}

// TestEndNotUnderLock proves End may call the Reader: it is not called
// with the Reader's lock held.
func TestEndNotUnderLock(t *testing.T) {
	h := &recorder{}
	rd := sse.NewReader(io.NopCloser(strings.NewReader("data: a\n\n")), h)
	h.onEnd = func() { _ = rd.Close() }
	_, err := io.ReadAll(rd)
	require.NoError(t, err)
	assert.Equal(t, []sse.Why{sse.EOF}, h.ends, "wanted one end, its Close a no-op")
}

// TestCloseRacesRead closes the Reader while another goroutine reads it,
// as a cancelled ctx does; run with -race.
func TestCloseRacesRead(t *testing.T) {
	pr, pw := io.Pipe()
	var mu sync.Mutex
	ends := 0
	h := &countingHandler{mu: &mu, ends: &ends}
	rd := sse.NewReader(pr, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(io.Discard, rd)
	}()
	_, err := pw.Write([]byte("data: a\n\n"))
	require.NoError(t, err)
	require.NoError(t, rd.Close())
	<-done
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, ends, "wanted exactly one end")
}

type countingHandler struct {
	mu   *sync.Mutex
	ends *int
}

func (h *countingHandler) Event([]byte, []byte) bool { return false }

func (h *countingHandler) End(sse.Why, error) {
	h.mu.Lock()
	*h.ends++
	h.mu.Unlock()
}

// FuzzReader checks that any stream, however malformed and however it is
// split into reads, reaches the reader byte for byte, gives the same
// events, and ends once.
func FuzzReader(f *testing.F) {
	f.Add([]byte(stream), uint8(1))
	f.Add([]byte("data: a\r\n\r\ndata: z\n\n"), uint8(0))
	f.Add([]byte("event: e\ndata\n:\n\r\n\ndata: z"), uint8(3))
	f.Add([]byte("\r\r\n\n\ndata:\x00z\n\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		whole := &recorder{lastData: "z"}
		readAll(t, bytes.NewReader(data), whole)
		var r io.Reader = bytes.NewReader(data)
		switch step % 3 {
		case 1:
			r = iotest.OneByteReader(r)
		case 2:
			r = iotest.HalfReader(r)
		}
		h := &recorder{lastData: "z"}
		read := readAll(t, r, h)
		if !bytes.Equal(data, read) {
			t.Fatalf("read %q, wanted %q", read, data)
		}
		if len(h.ends) != 1 {
			t.Fatalf("ended %v, wanted one end", h.ends)
		}
		if !assert.ObjectsAreEqual(whole.events, h.events) {
			t.Fatalf("events %q split into reads, wanted %q as in one read", h.events, whole.events)
		}
	})
}
