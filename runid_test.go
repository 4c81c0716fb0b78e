package flowtrace

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRunIDIsAVersion4UUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s, b := newRunID(new([36]byte))
		u, err := uuid.Parse(s)
		require.NoError(t, err, "%q", s)
		assert.Equal(t, uuid.Version(4), u.Version(), "%q", s)
		assert.Equal(t, uuid.RFC4122, u.Variant(), "%q", s)
		assert.Equal(t, [16]byte(u), b, "the bytes are the string's")
		assert.Equal(t, traceIDFor(s), b, "the trace ID of a generated run is what traceIDFor gives")
		assert.Equal(t, u.String(), s, "canonical form")
		assert.False(t, seen[s], "unique")
		seen[s] = true
	}
}
