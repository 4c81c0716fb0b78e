package jsonl_test

import (
	"bytes"
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/exportertest"
	"github.com/flowtrace/flowtrace/exporter/jsonl"
)

func TestConformance(t *testing.T) {
	exportertest.Run(t, func(*testing.T) flowtrace.Exporter { return jsonl.New(new(bytes.Buffer)) }, exportertest.WithGoroutineCheck())
}
