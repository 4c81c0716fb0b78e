package serialwriter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowWriter is not safe for concurrent use: it copies one byte at a time,
// yielding between bytes, so that two unserialised Writes interleave (and
// the race detector sees them), and it reports overlapping calls.
type slowWriter struct {
	buf     []byte
	busy    atomic.Bool
	overlap atomic.Int64
	flushes int
}

func (w *slowWriter) enter() {
	if !w.busy.CompareAndSwap(false, true) {
		w.overlap.Add(1)
	}
}

func (w *slowWriter) leave() { w.busy.Store(false) }

func (w *slowWriter) Write(p []byte) (int, error) {
	w.enter()
	defer w.leave()
	for _, b := range p {
		w.buf = append(w.buf, b)
		runtime.Gosched()
	}
	return len(p), nil
}

func (w *slowWriter) Flush() error {
	w.enter()
	defer w.leave()
	w.flushes++
	runtime.Gosched()
	return nil
}

func TestConcurrentWritesNeverInterleave(t *testing.T) {
	const writers, records = 8, 50
	var w slowWriter
	s := &Writer{W: &w}
	want := make(map[string]int)
	var wg sync.WaitGroup
	for g := range writers {
		for i := range records {
			want[fmt.Sprintf("writer %d record %d %s", g, i, strings.Repeat(string(rune('a'+g)), 20))]++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range records {
				line := fmt.Sprintf("writer %d record %d %s\n", g, i, strings.Repeat(string(rune('a'+g)), 20))
				n, err := s.Write([]byte(line))
				assert.NoError(t, err)
				assert.Equal(t, len(line), n, "Write reports the whole record written")
				if i%10 == 0 {
					assert.NoError(t, s.Flush())
				}
			}
		}()
	}
	wg.Wait()

	require.Zero(t, w.overlap.Load(), "the underlying writer must never be entered by two goroutines at once")
	got := make(map[string]int)
	for _, line := range strings.Split(strings.TrimSuffix(string(w.buf), "\n"), "\n") {
		got[line]++
	}
	assert.Equal(t, want, got, "every record arrives whole, exactly once, its bytes never mixed with another's")
	assert.Equal(t, writers*records/10, w.flushes, "every Flush reached the writer")
}

// scripted returns fixed results from Write.
type scripted struct {
	n   int
	err error
}

func (w scripted) Write([]byte) (int, error) { return w.n, w.err }

func TestWriteResults(t *testing.T) {
	boom := errors.New("disk full")
	p := []byte("0123456789")
	tests := []struct {
		name    string
		w       io.Writer
		wantN   int
		wantErr error
	}{
		{name: "whole write", w: scripted{n: 10}, wantN: 10},
		{name: "short write without error", w: scripted{n: 4}, wantN: 4, wantErr: io.ErrShortWrite},
		{name: "nothing written without error", w: scripted{n: 0}, wantN: 0, wantErr: io.ErrShortWrite},
		{name: "short write with its error", w: scripted{n: 4, err: boom}, wantN: 4, wantErr: boom},
		{name: "error and nothing written", w: scripted{err: boom}, wantN: 0, wantErr: boom},
		{name: "negative count", w: scripted{n: -1}, wantN: 0, wantErr: errInvalidWrite},
		{name: "count beyond p", w: scripted{n: 11}, wantN: 10, wantErr: errInvalidWrite},
		{name: "invalid count keeps the writer's error", w: scripted{n: -5, err: boom}, wantN: 0, wantErr: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Writer{W: tt.w}
			n, err := s.Write(p)
			assert.Equal(t, tt.wantN, n, "count written")
			if tt.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

func TestFlush(t *testing.T) {
	t.Run("flushes a buffered writer", func(t *testing.T) {
		var out bytes.Buffer
		bw := bufio.NewWriterSize(&out, 64)
		s := &Writer{W: bw}
		_, err := s.Write([]byte("line\n"))
		require.NoError(t, err)
		assert.Empty(t, out.String(), "a buffered writer holds the record until flushed")
		require.NoError(t, s.Flush())
		assert.Equal(t, "line\n", out.String(), "Flush pushes the record through")
	})
	t.Run("returns the flush error", func(t *testing.T) {
		bw := bufio.NewWriterSize(scripted{err: errors.New("pipe closed")}, 64)
		s := &Writer{W: bw}
		_, err := s.Write([]byte("line\n"))
		require.NoError(t, err, "the record is buffered")
		assert.ErrorContains(t, s.Flush(), "pipe closed")
	})
	t.Run("no Flush method is a no-op", func(t *testing.T) {
		var out bytes.Buffer
		s := &Writer{W: &out}
		assert.NoError(t, s.Flush())
	})
}

type panicky struct{ calls int }

func (w *panicky) Write(p []byte) (int, error) {
	w.calls++
	if w.calls == 1 {
		panic("writer broke")
	}
	return len(p), nil
}

func TestPanickingWriterDoesNotKeepTheLock(t *testing.T) {
	w := &panicky{}
	s := &Writer{W: w}
	require.PanicsWithValue(t, "writer broke", func() { _, _ = s.Write([]byte("x")) })
	require.True(t, s.mu.TryLock(), "the lock is free after the writer panicked")
	s.mu.Unlock()
	n, err := s.Write([]byte("x"))
	assert.NoError(t, err)
	assert.Equal(t, 1, n, "the Writer still writes")
}

func TestZeroValueWritesToStdout(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = w
	var s Writer
	_, werr := s.Write([]byte("to stdout\n"))
	ferr := s.Flush()
	os.Stdout = stdout
	require.NoError(t, w.Close())
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.NoError(t, werr)
	require.NoError(t, ferr, "os.Stdout has no Flush method")
	assert.Equal(t, "to stdout\n", string(got))
}
