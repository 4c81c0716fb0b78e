package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// A stack is the two services of one variant, serving on 127.0.0.1, with
// the tracing behind them. It lives for one round.
type stack struct {
	url      string // service A
	servers  []*server
	clients  []*http.Transport             // idle connections closed at shutdown
	tracing  []func(context.Context) error // flushes and shuts the tracing down, after the servers
	reported errorSink
}

// shutdown stops the servers (their requests have ended), then the
// tracing, which flushes what is left of the round's spans.
func (s *stack) shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.shutdown(ctx))
	}
	for _, t := range s.clients {
		t.CloseIdleConnections()
	}
	for _, f := range s.tracing {
		errs = append(errs, f(ctx))
	}
	errs = append(errs, s.reported.err())
	return errors.Join(errs...)
}

// variant is one way of running the two services.
type variant struct {
	name string
	// spansPerRequest is how many spans one request sends the collector.
	spansPerRequest int
	start           func(ctx context.Context, collectorURL string, conns int) (*stack, error)
}

var variants = []variant{
	{name: "untraced", spansPerRequest: 0, start: startUntraced},
	{name: "otel", spansPerRequest: 7, start: startOTel},
	{name: "flowtrace", spansPerRequest: 7, start: startFlowtrace},
}

// errorSink keeps the errors tracing reports in the background.
type errorSink struct {
	mu   sync.Mutex
	errs []error
}

func (e *errorSink) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.errs) < 10 {
		e.errs = append(e.errs, err)
	}
}

func (e *errorSink) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return errors.Join(e.errs...)
}

// serveBoth starts service B, then service A calling B through a client
// whose transport wrap makes of base.
func (s *stack) serveBoth(b http.Handler, a func(client *http.Client, bURL string) http.Handler, wrap func(http.RoundTripper) http.RoundTripper, conns int) error {
	srvB, err := serve(b)
	if err != nil {
		return err
	}
	s.servers = append(s.servers, srvB)
	base := newTransport(conns)
	s.clients = append(s.clients, base)
	client := &http.Client{Transport: wrap(base), Timeout: 10 * time.Second}
	srvA, err := serve(a(client, srvB.url))
	if err != nil {
		return err
	}
	s.servers = append([]*server{srvA}, s.servers...) // A stops first: it calls B
	s.url = srvA.url
	return nil
}

// startUntraced serves the two services without tracing.
func startUntraced(_ context.Context, _ string, conns int) (*stack, error) {
	s := &stack{}
	err := s.serveBoth(untracedSearch(), untracedAsk, func(rt http.RoundTripper) http.RoundTripper { return rt }, conns)
	return s, err
}

func untracedAsk(client *http.Client, bURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("q")
		plan := makePlan(q)
		docs, err := search(r.Context(), client, bURL, q)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		answer := makeAnswer(q, docs)
		writeJSON(w, answerBody{Question: q, Plan: plan, Docs: docs, Answer: answer, Tokens: promptTokens + completionTokens})
	})
}

func untracedSearch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, findDocs(r.URL.Query().Get("q")))
	})
}
