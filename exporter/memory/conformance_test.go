package memory_test

import (
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/exportertest"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

func TestConformance(t *testing.T) {
	exportertest.Run(t, func(*testing.T) flowtrace.Exporter { return memory.New() }, exportertest.WithGoroutineCheck())
}
