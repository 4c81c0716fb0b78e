package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The work both services do for a request, the same in every variant: a
// little real work (a plan, documents, an answer, JSON in and out) so that
// the untraced services do not cost nothing.

// answerBody is what service A answers.
type answerBody struct {
	Question string   `json:"question"`
	Plan     []string `json:"plan"`
	Docs     []string `json:"docs"`
	Answer   string   `json:"answer"`
	Tokens   int64    `json:"tokens"`
}

// Usage of the model call the answer stands for.
const (
	promptTokens     = 42
	completionTokens = 7
	modelName        = "gpt-4o"
	modelProvider    = "openai"
)

func makePlan(question string) []string {
	return []string{"search for " + question, "rank the documents", "answer briefly"}
}

func findDocs(query string) []string {
	return []string{"doc about " + query, "another doc about " + strings.ToUpper(query), "a third doc"}
}

func makeAnswer(question string, docs []string) string {
	return fmt.Sprintf("%d documents say: %s depends", len(docs), question)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// search asks service B for documents with ctx, through client.
func search(ctx context.Context, client *http.Client, base, query string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/search?"+url.Values{"q": {query}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("search: %s", resp.Status)
	}
	var docs []string
	return docs, json.NewDecoder(resp.Body).Decode(&docs)
}

// server serves a handler on a free port of 127.0.0.1 until shutdown.
type server struct {
	http *http.Server
	url  string
	done chan error
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{http: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, url: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	go func() { s.done <- s.http.Serve(ln) }()
	return s, nil
}

// shutdown waits for the requests in flight, then for the server's goroutine.
func (s *server) shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	err := s.http.Shutdown(ctx)
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// newTransport is the base transport of each client: keeps a connection
// per client goroutine, so that a round measures requests, not handshakes.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: 2 * conns,
		IdleConnTimeout:     30 * time.Second,
	}
}
