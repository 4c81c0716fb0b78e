package sse_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/flowtrace/flowtrace/internal/sse"
)

// printer prints each event; [DONE] is the last.
type printer struct{}

func (printer) Event(name, data []byte) bool {
	fmt.Printf("%s %s\n", name, data)
	return string(data) == "[DONE]"
}

func (printer) End(why sse.Why, err error) { fmt.Println("end", why == sse.Last, err) }

func Example() {
	body := io.NopCloser(strings.NewReader("event: delta\ndata: Hello\n\n: ping\n\ndata: [DONE]\n\n"))
	r := sse.NewReader(body, printer{})
	b, _ := io.ReadAll(r)
	_ = r.Close()
	fmt.Println(len(b), "bytes passed on")
	// Output:
	// delta Hello
	//  [DONE]
	// end true <nil>
	// 48 bytes passed on
}
