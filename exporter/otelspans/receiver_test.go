package otelspans_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is an OTLP/HTTP (protobuf) trace receiver on 127.0.0.1, as a
// Collector, Jaeger or an LLM-observability backend runs one.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []received
}

type received struct {
	path    string
	header  http.Header
	gzipped bool
	req     *coltracepb.ExportTraceServiceRequest
}

type span struct {
	service string
	scope   string
	*tracepb.Span
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = io.LimitReader(req.Body, 64<<20)
	gz := req.Header.Get("Content-Encoding") == "gzip"
	if gz {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	msg := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(data, msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.requests = append(r.requests, received{path: req.URL.Path, header: req.Header.Clone(), gzipped: gz, req: msg})
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

// spans returns every span received, with its resource's service.name.
func (r *receiver) spans() []span {
	var out []span
	for _, rq := range r.all() {
		for _, rs := range rq.req.GetResourceSpans() {
			svc := attrString(rs.GetResource().GetAttributes(), "service.name")
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, span{service: svc, scope: ss.GetScope().GetName(), Span: s})
				}
			}
		}
	}
	return out
}

func (r *receiver) resourceAttr(key string) []string {
	var out []string
	for _, rq := range r.all() {
		for _, rs := range rq.req.GetResourceSpans() {
			out = append(out, attrString(rs.GetResource().GetAttributes(), key))
		}
	}
	return out
}

func attrString(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

func (s span) attr(key string) string { return attrString(s.GetAttributes(), key) }
