package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// load is what the load generator did in a round.
type load struct {
	served, failed int
	err            error // the first failure
}

// generate sends requests to service A's /ask from clients goroutines for
// d, paced at rate requests per second in all: each client sends one on
// every tick of its own ticker, the clients' ticks spread evenly over the
// interval. A tick that comes while the client's request is still in
// flight is skipped (time.Ticker drops it), so an overloaded machine serves
// fewer requests, never a burst.
func generate(base string, rate float64, clients int, d time.Duration) load {
	tr := newTransport(clients)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	interval := time.Duration(float64(time.Second) * float64(clients) / rate)

	stop := make(chan struct{})
	deadline := time.AfterFunc(d, func() { close(stop) })
	defer deadline.Stop()

	var (
		mu  sync.Mutex
		out load
		wg  sync.WaitGroup
	)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			offset := time.NewTimer(interval * time.Duration(i) / time.Duration(clients))
			select {
			case <-stop:
				offset.Stop()
				return
			case <-offset.C:
			}
			ticker := time.NewTicker(interval)
			defer ticker.Stop()
			served, failed := 0, 0
			var first error
			defer func() {
				mu.Lock()
				out.served += served
				out.failed += failed
				if out.err == nil {
					out.err = first
				}
				mu.Unlock()
			}()
			for n := 0; ; n++ {
				if err := ask(client, base, i, n); err != nil {
					failed++
					if first == nil {
						first = err
					}
				} else {
					served++
				}
				select {
				case <-stop:
					return
				case <-ticker.C:
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// ask sends question n of client i and reads the answer whole.
func ask(client *http.Client, base string, i, n int) error {
	q := url.Values{"q": {fmt.Sprintf("question %d of client %d", n, i)}, "session": {fmt.Sprintf("session-%d", i)}, "user": {"user-1"}}
	resp, err := client.Get(base + "/ask?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return errors.Join(fmt.Errorf("ask: %s", resp.Status), err)
	}
	return err
}
