package exportertest_test

import (
	"fmt"
	"io"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/exportertest"
	"github.com/flowtrace/flowtrace/exporter/jsonl"
)

// Outside package testing, TestExporter returns the violations found, or
// nil. In a test, call Run instead.
func ExampleTestExporter() {
	err := exportertest.TestExporter(func() flowtrace.Exporter { return jsonl.New(io.Discard) })
	fmt.Println("violations:", err)
	// Output:
	// violations: <nil>
}
