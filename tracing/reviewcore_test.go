package tracing_test

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/tracing"
)

// TestReviewCorePooledFieldMapsNeverCrossRequests sends many concurrent
// requests through the Middleware, each making an outgoing request through
// the Transport, and checks that every run's recorded metadata and outputs
// (and its client component's) are its own request's: the maps the
// tracing package recycles must never be read after their reuse.
func TestReviewCorePooledFieldMapsNeverCrossRequests(t *testing.T) {
	down, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		w.WriteHeader(200 + i%4)
	}))
	svc, rec := newService(t)
	client := &http.Client{Transport: tracing.Transport(nil)}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, "CUSTOM"}
	h := tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		req, err := http.NewRequestWithContext(r.Context(), methods[(i+1)%4], down.URL+"/down/"+strconv.Itoa(i)+"?i="+strconv.Itoa(i), nil)
		if err == nil {
			if resp, err := client.Do(req); err == nil {
				_ = resp.Body.Close()
			}
		}
		w.WriteHeader(200 + (i+2)%4)
	}), tracing.WithRunInfo(func(r *http.Request) flowtrace.RunInfo {
		return flowtrace.RunInfo{Metadata: map[string]any{"req": r.URL.Query().Get("i")}}
	}))
	srv, done := serve(t, h)

	const n = 200
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			req, err := http.NewRequest(methods[i%4], srv.URL+"/up/"+strconv.Itoa(i)+"?i="+strconv.Itoa(i), nil)
			if !assert.NoError(t, err) {
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if assert.NoError(t, err) {
				_ = resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	wait(t, done, n)
	settle(t, svc)

	runs := rec.Runs()
	require.Len(t, runs, n)
	seen := map[int]bool{}
	for _, run := range runs {
		md := run.Info.Metadata.Map()
		i, err := strconv.Atoi(fmt.Sprint(md["req"]))
		require.NoError(t, err, "metadata %v", md)
		seen[i] = true
		assert.Equal(t, methods[i%4], md[tracing.KeyMethod], "run %d", i)
		assert.Equal(t, "/up/"+strconv.Itoa(i), md[tracing.KeyPath], "run %d", i)
		assert.EqualValues(t, 200+(i+2)%4, run.Outputs[tracing.KeyStatusCode], "run %d outputs %v", i, run.Outputs)
		require.Len(t, run.Components, 1, "run %d", i)
		c := run.Components[0]
		cmd := c.Info.Metadata.Map()
		assert.Equal(t, methods[(i+1)%4], cmd[tracing.KeyMethod], "run %d client %v", i, cmd)
		assert.Contains(t, fmt.Sprint(cmd[tracing.KeyURL]), "/down/"+strconv.Itoa(i)+"?", "run %d client %v", i, cmd)
		assert.EqualValues(t, 200+i%4, c.Outputs[tracing.KeyStatusCode], "run %d client outputs %v", i, c.Outputs)
	}
	assert.Len(t, seen, n)
}
