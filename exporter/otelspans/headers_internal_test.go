package otelspans

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Header names are kept in canonical form, so that two spellings of one
// name never both reach the exporter, which would send one of them at
// random.
func TestHeaderNamesAreCanonical(t *testing.T) {
	c := newConfig([]Option{
		WithHeaders(map[string]string{"authorization": "a", "x-langfuse-ingestion-version": "4"}),
		WithHeaders(map[string]string{"AUTHORIZATION": "b"}),
	})
	assert.Equal(t, map[string]string{"Authorization": "b", "X-Langfuse-Ingestion-Version": "4"}, c.headers)

	h := map[string]string{}
	require.NoError(t, parseHeaders("x-team=a,X-TEAM=b", h))
	assert.Equal(t, map[string]string{"X-Team": "b"}, h)
}
