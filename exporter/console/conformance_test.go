package console_test

import (
	"bytes"
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/console"
	"github.com/flowtrace/flowtrace/exporter/exportertest"
)

func TestConformance(t *testing.T) {
	exportertest.Run(t, func(*testing.T) flowtrace.Exporter { return console.New(new(bytes.Buffer)) }, exportertest.WithGoroutineCheck())
}
