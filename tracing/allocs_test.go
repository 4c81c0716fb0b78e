package tracing

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Middleware's and the Transport's own work per request: what they
// allocate besides flowtrace's run and component, and the request copies
// net/http asks for.
func TestPerRequestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	u, err := url.Parse("http://search.internal:8081/search?q=go&top=3")
	require.NoError(t, err)
	assert.Equal(t, 2.0, testing.AllocsPerRun(100, func() { _ = redactURL(u) }),
		"redactURL: the query and the URL string")

	h := http.Header{"Accept": {"application/json"}}
	assert.Equal(t, 3.0, testing.AllocsPerRun(100, func() {
		c := cloneHeader(h, 3)
		c.set(keyTraceparent, "tp")
		c.set(keyTracestate, "ts")
		c.set(keyBaggage, "b")
	}), "cloneHeader: the map, its group and one array for every value")

	req := httptest.NewRequest(http.MethodGet, "http://search.internal:8081/search?q=go", nil)
	assert.Equal(t, 6.0, testing.AllocsPerRun(100, func() { putFields(clientComponent(req).Metadata) }),
		"clientComponent: the name, the URL (two), and the URL, host and port boxed; the map recycled, the method a constant")

	m := Middleware(nil, nil).(*middleware)
	in := httptest.NewRequest(http.MethodGet, "/ask?q=hello", nil)
	assert.Equal(t, 3.0, testing.AllocsPerRun(100, func() { putFields(m.runInfo(in).Metadata) }),
		"runInfo: the name, and the path and host boxed; the map recycled, the method a constant")
}
