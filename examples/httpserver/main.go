// Command httpserver traces a goroutine-per-request HTTP server: each
// request is a run (tracing.Middleware), its handler's steps are
// components, and its slog records become the run's logs
// (tracing.SlogHandler). A built-in load loop sends concurrent requests to
// it on 127.0.0.1, and each run prints as a tree when it ends.
//
//	go run ./examples/httpserver -requests 12 -concurrency 4
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/console"
	"github.com/flowtrace/flowtrace/tracing"
)

func main() {
	requests := flag.Int("requests", 12, "requests the load loop sends")
	concurrency := flag.Int("concurrency", 4, "requests in flight at once")
	flag.Parse()
	if err := run(*requests, max(*concurrency, 1)); err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
}

func run(requests, concurrency int) error {
	svc, err := flowtrace.NewTraceService(
		flowtrace.WithExporter(console.New(os.Stdout)),
		flowtrace.WithErrorHandler(func(err error) { fmt.Fprintln(os.Stderr, "flowtrace:", err) }),
	)
	if err != nil {
		return err
	}
	// Logs go to stderr as usual, and also to the run of the request.
	logger := slog.New(tracing.SlogHandler(slog.NewTextHandler(os.Stderr, nil), svc))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", orderHandler(logger))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: tracing.Middleware(svc, mux), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// The load loop: concurrency workers share the requests.
	base := "http://" + ln.Addr().String()
	next := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if resp, err := http.Get(base + "/orders/" + strconv.Itoa(i)); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	for i := range requests {
		next <- i
	}
	close(next)
	wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(ctx)
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	// The middleware does not wait for delivery: Shutdown does, then the
	// counts are final.
	err = errors.Join(err, svc.Shutdown(ctx))
	st := svc.Stats()
	fmt.Printf("%d runs recorded, %d still active\n", st.RunsStarted, st.RunsActive)
	return err
}

// orderHandler looks an order up and charges it; every seventh order's
// payment fails. It records through the run the middleware put in the
// request's ctx: it needs no service of its own.
func orderHandler(logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := r.PathValue("id")

		vctx, validate := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "validate", Type: "tool", Inputs: map[string]any{"order_id": id}})
		logger.InfoContext(vctx, "order looked up", "order_id", id)
		validate.End(nil)

		cctx, charge := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "charge", Type: "tool", Inputs: map[string]any{"order_id": id, "card_token": "tok_4242"}})
		n, _ := strconv.Atoi(id)
		var err error
		if n%7 == 6 {
			err = fmt.Errorf("payment declined for order %s", id)
			logger.WarnContext(cctx, "payment declined", "order_id", id)
		} else {
			flowtrace.SetOutputs(cctx, map[string]any{"charged": true})
		}
		charge.End(err)

		if err != nil {
			http.Error(w, err.Error(), http.StatusPaymentRequired)
			return
		}
		_, _ = fmt.Fprintf(w, "order %s charged\n", id)
	}
}
