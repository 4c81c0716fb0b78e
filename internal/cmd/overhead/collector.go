package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// maxBody bounds one export request the collector accepts.
const maxBody = 64 << 20

// collector stands in for an OpenTelemetry Collector: it accepts OTLP/HTTP
// protobuf export requests on 127.0.0.1 and answers 200 with an empty
// ExportTraceServiceResponse. It only keeps the bodies while a window is
// measured; drain gunzips, decodes and counts them afterwards, so the
// stand-in's decoding is not charged to the variant that sent them (a real
// collector runs in another process).
type collector struct {
	url  string
	srv  *http.Server
	done chan error

	mu     sync.Mutex
	bodies []body
}

type body struct {
	data []byte
	gzip bool
}

// received is what drain decoded: the spans of every request, in order of
// arrival, and how many requests there were and how many were gzipped.
type received struct {
	requests, gzipped, spans int
	// resourceSpans is kept only when drain is asked to keep it.
	resourceSpans []*tracepb.ResourceSpans
}

func startCollector() (*collector, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &collector{url: "http://" + ln.Addr().String() + "/v1/traces", done: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", c.export)
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { c.done <- c.srv.Serve(ln) }()
	return c, nil
}

func (c *collector) export(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(data) > maxBody {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, body{data: data, gzip: r.Header.Get("Content-Encoding") == "gzip"})
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK) // an empty ExportTraceServiceResponse encodes to no bytes
}

// drain decodes and forgets every request received since the last drain.
// With keep, it returns the decoded spans too.
func (c *collector) drain(keep bool) (received, error) {
	c.mu.Lock()
	bodies := c.bodies
	c.bodies = nil
	c.mu.Unlock()
	var rec received
	var errs []error
	for i, b := range bodies {
		rec.requests++
		data := b.data
		if b.gzip {
			rec.gzipped++
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err == nil {
				data, err = io.ReadAll(zr)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("collector: request %d: gunzip: %w", i, err))
				continue
			}
		}
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			errs = append(errs, fmt.Errorf("collector: request %d: decode: %w", i, err))
			continue
		}
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				rec.spans += len(ss.GetSpans())
			}
		}
		if keep {
			rec.resourceSpans = append(rec.resourceSpans, req.GetResourceSpans()...)
		}
	}
	return rec, errors.Join(errs...)
}

// close stops the server, once every exporter has shut down.
func (c *collector) close() error {
	err := c.srv.Close()
	if serveErr := <-c.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
