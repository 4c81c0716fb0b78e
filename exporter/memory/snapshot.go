package memory

import (
	"reflect"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/values"
)

// defaults snapshots as a TraceService with the default settings does.
var defaults = func() *values.Snapshotter {
	s, err := values.New(values.Config{SecretTypes: []reflect.Type{reflect.TypeFor[flowtrace.Secret]()}})
	if err != nil {
		panic(err) // a constant configuration
	}
	return s
}()

// Snapshot returns v as a TraceService with the default settings records
// it: integers as int64 (unsigned ones as uint64), floats as float64,
// slices and arrays as []any, maps and structs as map[string]any, secrets
// masked, limits applied. A test compares what it passed to the library
// with what this exporter kept through it, since the two differ in type:
// outputs of map[string]any{"n": 3} come back as map[string]any{"n":
// int64(3)}, so
//
//	assert.Equal(t, memory.Snapshot(outputs), c.Outputs)
//
// holds where assert.Equal(t, outputs, c.Outputs) does not. (For a single
// number, assert.EqualValues(t, 3, c.Outputs["n"]) does too; it does not
// see through maps and slices.) Settings of the service under test that
// change values (WithRedactKeys, WithRedactor, the With…Max limits) are
// not applied.
func Snapshot(v any) any { return defaults.Value(nil, v) }
