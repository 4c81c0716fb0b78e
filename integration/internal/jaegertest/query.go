package jaegertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Trace is one trace as Jaeger's query API returns it from
// GET /api/traces/{traceID} (the JSON the Jaeger UI reads).
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Span is one span of a [Trace]. StartTime is in microseconds since the
// epoch, Duration in microseconds.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"`
	Duration      int64       `json:"duration"`
	Tags          []Tag       `json:"tags"`
	Logs          []SpanLog   `json:"logs"`
	ProcessID     string      `json:"processID"`
	Warnings      []string    `json:"warnings"`
}

// Reference links a span to another span; RefType is "CHILD_OF" for an
// OpenTelemetry parent.
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// Tag is a span or process attribute. Value is a string, bool or float64
// (JSON numbers), as Type says.
type Tag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// SpanLog is a span event.
type SpanLog struct {
	Timestamp int64 `json:"timestamp"`
	Fields    []Tag `json:"fields"`
}

// Process is the resource a span came from.
type Process struct {
	ServiceName string `json:"serviceName"`
	Tags        []Tag  `json:"tags"`
}

// Tag returns the value of the span's tag key as a string (fmt's %v for
// non-strings) and reports whether the span has it.
func (s Span) Tag(key string) (string, bool) {
	for _, tg := range s.Tags {
		if tg.Key == key {
			if str, ok := tg.Value.(string); ok {
				return str, true
			}
			return fmt.Sprint(tg.Value), true
		}
	}
	return "", false
}

// Parent returns the span id of the span's CHILD_OF reference, "" for a root.
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// ServiceName returns the service name of the process span s came from.
func (tr *Trace) ServiceName(s Span) string {
	return tr.Processes[s.ProcessID].ServiceName
}

// SpanByID returns the span with id and reports whether the trace has it.
func (tr *Trace) SpanByID(id string) (Span, bool) {
	for _, s := range tr.Spans {
		if s.SpanID == id {
			return s, true
		}
	}
	return Span{}, false
}

// ErrTraceNotFound is returned by [Jaeger.Trace] while Jaeger holds no span
// of the trace.
var ErrTraceNotFound = errors.New("jaegertest: trace not found")

// Trace fetches one trace. It returns [ErrTraceNotFound] when Jaeger has
// none of its spans yet.
func (j *Jaeger) Trace(ctx context.Context, traceID string) (*Trace, error) {
	url := j.QueryURL() + "/api/traces/" + traceID
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the body: %w", url, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, ErrTraceNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	var r struct {
		Data   []Trace `json:"data"`
		Errors []struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("GET %s: decoding %q: %w", url, body, err)
	}
	if len(r.Errors) > 0 {
		return nil, fmt.Errorf("GET %s: errors in the answer: %+v", url, r.Errors)
	}
	if len(r.Data) != 1 {
		return nil, fmt.Errorf("GET %s: %d traces in the answer, want 1", url, len(r.Data))
	}
	tr := &r.Data[0]
	if !SameTraceID(tr.TraceID, traceID) {
		return nil, fmt.Errorf("GET %s: answered trace %s", url, tr.TraceID)
	}
	return tr, nil
}

// SameTraceID reports whether two hex trace ids are equal; Jaeger's v1 API
// drops the leading zeros of the high 64 bits.
func SameTraceID(a, b string) bool {
	return strings.TrimLeft(strings.ToLower(a), "0") == strings.TrimLeft(strings.ToLower(b), "0")
}

const (
	// tracePolls and traceInterval bound WaitTrace: 300 × 200 ms, a minute.
	// Jaeger's storage exporter queues spans, so they are queryable shortly
	// after the exporter's request has been answered, not at that instant.
	tracePolls    = 300
	traceInterval = 200 * time.Millisecond
	// settledPolls is how many polls in a row a trace that fails the check
	// must come back unchanged (same spans) before WaitTrace gives up early:
	// 50 × 200 ms, ten seconds without a new span. A wrong trace then fails
	// in seconds instead of after the whole minute.
	settledPolls = 50
)

// WaitTrace polls for the trace until check accepts it and returns it.
// check returns an error naming what is missing; spans arrive in several
// exports, so a trace that fails check is fetched again. When the polls run
// out, or the trace has failed check unchanged for ten seconds, WaitTrace
// fails t with check's last error and the trace as Jaeger returned it.
func (j *Jaeger) WaitTrace(t testing.TB, traceID string, check func(*Trace) error) *Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tracePolls*traceInterval+30*time.Second)
	defer cancel()
	var (
		lastErr error
		last    *Trace
		lastKey string
		settled int
	)
	for range tracePolls {
		tr, err := j.Trace(ctx, traceID)
		switch {
		case err != nil:
			lastErr = err
			lastKey, settled = "", 0
		default:
			last = tr
			if lastErr = check(tr); lastErr == nil {
				return tr
			}
			if key := spanKey(tr); key == lastKey {
				settled++
			} else {
				lastKey, settled = key, 0
			}
		}
		if settled >= settledPolls {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("jaegertest: trace %s: %v (last check: %v)", traceID, ctx.Err(), lastErr)
		case <-time.After(traceInterval):
		}
	}
	dump, _ := json.MarshalIndent(last, "", "  ")
	if settled >= settledPolls {
		t.Fatalf("jaegertest: trace %s not as wanted, and unchanged for %d polls of %v: %v\nlast answer:\n%s",
			traceID, settledPolls, traceInterval, lastErr, dump)
	}
	t.Fatalf("jaegertest: trace %s not as wanted after %d polls of %v: %v\nlast answer:\n%s",
		traceID, tracePolls, traceInterval, lastErr, dump)
	return nil
}

// spanKey identifies a trace's set of spans, to tell whether a poll brought
// anything new.
func spanKey(tr *Trace) string {
	ids := make([]string, 0, len(tr.Spans))
	for _, s := range tr.Spans {
		ids = append(ids, s.SpanID)
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}
