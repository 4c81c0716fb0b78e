package jsonl_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/exportertest"
	"github.com/flowtrace/flowtrace/exporter/jsonl"
)

func TestConformance(t *testing.T) {
	exportertest.Run(t, func(t *testing.T) flowtrace.Exporter {
		var out bytes.Buffer
		// Once the check has shut the exporter down, every line it wrote,
		// for every kind of record and value the suite sends, is JSON.
		t.Cleanup(func() {
			if out.Len() == 0 {
				return // ShutdownWithoutRuns
			}
			for i, line := range bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n")) {
				assert.True(t, json.Valid(line), "line %d is JSON: %s", i+1, line)
			}
		})
		return jsonl.New(&out)
	}, exportertest.WithGoroutineCheck())
}
