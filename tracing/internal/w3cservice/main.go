// Command w3cservice is the test service of the W3C Trace Context test
// suite (the test/ folder of github.com/w3c/trace-context), built on
// flowtrace's public API the way the README shows: tracing.Middleware on
// the server, and an http.Client with tracing.Transport making the
// harness's callbacks in the handler's ctx.
//
// It lives under tracing/internal because it is a tool for checking the
// tracing package against the suite, not an example to copy, and it
// imports nothing but the public API. Run the suite against it:
//
//	go run ./tracing/internal/w3cservice -addr 127.0.0.1:5000 &
//	cd trace-context/test && SPEC_LEVEL=2 STRICT_LEVEL=2 python3 test.py http://127.0.0.1:5000/test
//
// The service records its runs to no exporter: the suite checks only the
// headers of the callbacks.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/tracing"
)

// call is one element of the harness's instructions: POST arguments to url.
type call struct {
	URL       string          `json:"url"`
	Arguments json.RawMessage `json:"arguments"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "address to listen on (keep it on loopback)")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "w3cservice:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	svc, err := flowtrace.NewTraceService()
	if err != nil {
		return err
	}
	defer func() { _ = svc.Shutdown(context.Background()) }()
	client := &http.Client{Transport: tracing.Transport(nil), Timeout: 10 * time.Second}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /test", func(w http.ResponseWriter, r *http.Request) {
		var calls []call
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&calls); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, c := range calls {
			if err := callback(r.Context(), client, c); err != nil {
				log.Printf("callback %s: %v", c.URL, err)
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("listening on http://%s/test", ln.Addr())
	return http.Serve(ln, tracing.Middleware(svc, mux))
}

// callback posts c's arguments to c's URL, in ctx: the ctx of the handler's
// run, so the Transport propagates it.
func callback(ctx context.Context, client *http.Client, c call) error {
	body := c.Arguments
	if len(body) == 0 {
		body = json.RawMessage("[]")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
