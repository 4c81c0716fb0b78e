package tracing

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parsedRedaction is what redactURL wrote before its fast path, and still
// writes for a query the fast path leaves: every query parsed, its values
// replaced, encoded again.
func parsedRedaction(u *url.URL) string {
	v := *u
	v.User = nil
	v.Fragment, v.RawFragment = "", ""
	return redactParsed(&v)
}

var redactSeeds = []string{
	"http://search.internal:8081/search?q=go",
	"https://u:p@example.test/a/b?b=2&a=1#frag",
	"https://example.test/?a=1&a=2&b=3",
	"https://example.test/?a=1&&b=2&",
	"https://example.test/?&&",
	"https://example.test/?=x&a",
	"https://example.test/?flag",
	"https://example.test/?a=%zz&b=1",
	"https://example.test/?a=%41&b=%4",
	"https://example.test/?a=1;b=2",
	"https://example.test/?a%20b=1",
	"https://example.test/?a+b=1",
	"https://example.test/?b=1&a=2",
	"https://example.test/?sig=abc%2Fdef&token=x+y",
	"https://example.test/p%20q?x=1",
	"https://example.test/?",
	"https://example.test/?a=1&a=0&b",
	"/relative?x=1",
	"https://example.test/?a=" + string(make([]byte, 3)),
}

func TestRedactURLMatchesParsedRedaction(t *testing.T) {
	for _, s := range redactSeeds {
		u, err := url.Parse(s)
		if err != nil {
			continue
		}
		assert.Equal(t, parsedRedaction(u), redactURL(u), s)
	}
	forced := &url.URL{Scheme: "https", Host: "example.test", Path: "/", RawQuery: "a=1", ForceQuery: true}
	assert.Equal(t, parsedRedaction(forced), redactURL(forced), "ForceQuery")
	u, err := url.Parse("https://example.test/?a=1" + strings.Repeat("&a=1", 20000))
	require.NoError(t, err)
	assert.Equal(t, parsedRedaction(u), redactURL(u), "past ParseQuery's limit on pairs")
}

func FuzzRedactURL(f *testing.F) {
	for _, s := range redactSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		if got, want := redactURL(u), parsedRedaction(u); got != want {
			t.Fatalf("redactURL(%q) = %q, want %q", s, got, want)
		}
	})
}

func TestCloneHeaderIsDeepAndKeepsNil(t *testing.T) {
	h := http.Header{"A": {"1", "2"}, "B": nil, "C": {}}
	c := cloneHeader(h, 2)
	c.set("X", "x")
	c.set("Y", "y")
	c.set("Z", "z") // past the room made: a slice of its own
	assert.Equal(t, http.Header{"A": {"1", "2"}, "B": nil, "C": {}, "X": {"x"}, "Y": {"y"}, "Z": {"z"}}, c.h)
	assert.Nil(t, c.h["B"])
	assert.NotNil(t, c.h["C"])
	c.h["A"] = append(c.h["A"], "3")
	c.h["X"] = append(c.h["X"], "x2")
	assert.Equal(t, []string{"1", "2"}, h["A"], "the original's values are not shared")
	assert.Equal(t, []string{"y"}, c.h["Y"], "appending to one value never writes into another")
	assert.Equal(t, http.Header{}, cloneHeader(nil, 0).h)
}
