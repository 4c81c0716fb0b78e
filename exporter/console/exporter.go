package console

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/serialwriter"
)

var (
	_ flowtrace.Exporter    = (*Exporter)(nil)
	_ flowtrace.RunExporter = (*runExporter)(nil)
)

// ErrRunEnded is returned by a RunExporter for a record delivered after
// EndRun, which has already printed the run.
var ErrRunEnded = errors.New("console: run already printed")

// Exporter prints every run as a tree when it ends; the package
// documentation shows the format.
//
// The zero value prints to os.Stdout. An Exporter is safe for concurrent
// use, and serialises its writes: the writer needs no locking of its own.
// It must not be copied after first use.
type Exporter struct {
	out serialwriter.Writer
}

// New returns an Exporter printing to w, or to os.Stdout if w is nil.
func New(w io.Writer) *Exporter { return &Exporter{out: serialwriter.Writer{W: w}} }

// Name returns "console".
func (e *Exporter) Name() string { return "console" }

// StartRun returns a RunExporter that buffers the run until EndRun prints
// it. It never fails.
func (e *Exporter) StartRun(_ context.Context, r flowtrace.RunStart) (flowtrace.RunExporter, error) {
	return newRun(e, r), nil
}

// Shutdown flushes the writer if it has a Flush() error method, and returns
// that method's error. It does not close the writer. Runs that have not
// ended are not printed.
func (e *Exporter) Shutdown(context.Context) error {
	if err := e.out.Flush(); err != nil {
		return fmt.Errorf("console: flush: %w", err)
	}
	return nil
}

// write hands p to the writer in one Write call.
func (e *Exporter) write(p []byte) error {
	if _, err := e.out.Write(p); err != nil {
		return fmt.Errorf("console: write: %w", err)
	}
	return nil
}
