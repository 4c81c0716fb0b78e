package tracing

import (
	"net/http"
	"sync"
)

// The maps the Middleware and the Transport hand to flowtrace (a run's
// metadata and outputs, a client component's metadata and outputs) are
// recycled: flowtrace snapshots every map before the call it is passed to
// returns, so the caller may reuse it at once.

// maxPooledFields bounds the maps kept for reuse: clearing a map costs its
// capacity, and a run's metadata from WithRunInfo may be large.
const maxPooledFields = 8

var fieldMaps = sync.Pool{New: func() any { return make(map[string]any, maxPooledFields) }}

// getFields returns an empty map from the pool.
func getFields() map[string]any { return fieldMaps.Get().(map[string]any) }

// putFields empties m, once flowtrace has snapshotted it, and keeps it for
// reuse when it is small.
func putFields(m map[string]any) {
	if len(m) > maxPooledFields {
		return
	}
	clear(m)
	fieldMaps.Put(m)
}

// methodValue returns method as a value for a map of fields: the
// standard methods as the constants, which an interface holds without
// allocating.
func methodValue(method string) any {
	switch method {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodHead:
		return http.MethodHead
	case http.MethodOptions:
		return http.MethodOptions
	}
	return method
}
