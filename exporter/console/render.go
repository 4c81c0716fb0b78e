package console

import (
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowtrace/flowtrace"
)

// render returns the tree of a run whose end has been recorded in root.
func render(info flowtrace.RunStart, root *node) []byte {
	var b strings.Builder
	b.WriteString("▶ ")
	b.WriteString(text(info.RunName, "(unnamed run)"))
	b.WriteString("  run ")
	b.WriteString(shortID(info.RunID))
	if info.ParentRunID != "" {
		b.WriteString("  (in run ")
		b.WriteString(shortID(info.ParentRunID))
		if info.ParentComponentID != "" {
			b.WriteString(" / component ")
			b.WriteString(shortID(info.ParentComponentID))
		}
		b.WriteString(")")
	}
	sep := "  "
	var trace string
	if info.TraceID != [16]byte{} { // zero only in records built by hand
		trace = hex.EncodeToString(info.TraceID[:])
	}
	for _, f := range [...]struct{ k, v string }{
		{"trace", trace}, {"project", info.ProjectName}, {"user", info.UserID}, {"session", info.SessionID},
	} {
		if f.v != "" {
			b.WriteString(sep)
			b.WriteString(f.k)
			b.WriteByte('=')
			b.WriteString(text(f.v, ""))
			sep = " "
		}
	}
	if len(info.Tags) > 0 {
		b.WriteString(sep)
		b.WriteString("tags=")
		for i, t := range info.Tags {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(text(t, ""))
		}
	}
	if d := span(info.Time, root.end); d != "" {
		b.WriteString("  ")
		b.WriteString(d)
	}
	b.WriteString("  ")
	b.WriteString(status(root.ended, root.suspend, root.err))
	b.WriteByte('\n')
	children(&b, "", root)
	return []byte(b.String())
}

// children writes the logs, child components and outputs of n, each line
// starting with prefix.
func children(b *strings.Builder, prefix string, n *node) {
	keys := slices.Sorted(maps.Keys(n.outputs))
	hidden := n.logs - min(n.logs, maxLogs)
	total := len(n.items) + len(keys)
	if hidden > 0 {
		total++
	}
	i := 0
	branch := func() (string, bool) {
		i++
		if i == total {
			return "└", true
		}
		return "├", false
	}
	for _, it := range n.items {
		br, last := branch()
		b.WriteString(prefix)
		b.WriteString(br)
		if c := it.child; c != nil {
			b.WriteString("─ ")
			component(b, c)
			next := prefix + "│  "
			if last {
				next = prefix + "   "
			}
			children(b, next, c)
			continue
		}
		b.WriteString(" log")
		if name := text(it.log.Name, ""); name != "" {
			b.WriteByte(' ')
			b.WriteString(name)
		}
		if it.log.Message != nil {
			b.WriteString(": ")
			b.WriteString(compact(it.log.Message))
		}
		b.WriteByte('\n')
	}
	if hidden > 0 {
		br, _ := branch()
		b.WriteString(prefix)
		b.WriteString(br)
		b.WriteString(" … ")
		b.WriteString(strconv.Itoa(hidden))
		if hidden == 1 {
			b.WriteString(" more log\n")
		} else {
			b.WriteString(" more logs\n")
		}
	}
	for _, k := range keys {
		br, _ := branch()
		b.WriteString(prefix)
		b.WriteString(br)
		b.WriteString(" out ")
		b.WriteString(text(k, `""`))
		b.WriteString(": ")
		b.WriteString(compact(n.outputs[k]))
		b.WriteByte('\n')
	}
}

// component writes the line of a component, newline included.
func component(b *strings.Builder, c *node) {
	// A component the run's end closed has an end, but did not end.
	ended := c.ended && !errors.Is(c.err, flowtrace.ErrComponentNotEnded)
	if c.unknown {
		b.WriteString("? ")
		b.WriteString(shortID(c.start.ComponentID))
		b.WriteString(" (start not seen)")
	} else {
		b.WriteString(text(c.start.Name, "(unnamed)"))
		if t := text(c.start.Type, ""); t != "" {
			b.WriteString(" (")
			b.WriteString(t)
			b.WriteByte(')')
		}
		if d := span(c.start.Time, c.end); ended && d != "" {
			b.WriteByte(' ')
			b.WriteString(d)
		}
	}
	b.WriteByte(' ')
	b.WriteString(status(ended, c.suspend, c.err))
	for _, mc := range c.models {
		models(b, &mc.Call)
	}
	b.WriteByte('\n')
}

// models writes a model call's model, tokens, cost and time to first chunk
// on its component's line: "  gpt-4o 12→3 tok $0.0002 ttft 120ms".
func models(b *strings.Builder, c *flowtrace.ModelCall) {
	if c.Model != "" {
		b.WriteString("  ")
		b.WriteString(text(c.Model, ""))
	}
	if u := c.Usage; u.InputTokens != 0 || u.OutputTokens != 0 {
		fmt.Fprintf(b, " %d→%d tok", u.InputTokens, u.OutputTokens)
	}
	if c.Cost != 0 {
		fmt.Fprintf(b, " $%.4g", c.Cost)
	}
	if c.TimeToFirstChunk > 0 {
		ttft := c.TimeToFirstChunk.Round(time.Millisecond)
		if ttft == 0 {
			ttft = c.TimeToFirstChunk.Round(time.Microsecond)
		}
		fmt.Fprintf(b, " ttft %v", ttft)
	}
}

// status is "ok", "error: <message>", "suspended" or "not ended".
func status(ended, suspended bool, err error) string {
	switch {
	case !ended:
		return "not ended"
	case suspended && err == nil:
		return "suspended"
	case err == nil:
		return "ok"
	}
	return "error: " + text(err.Error(), `""`)
}

// span returns the duration from start to end, or "" if either is unknown
// (a zero time, in records built by hand).
func span(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return ""
	}
	return duration(end.Sub(start))
}

// duration rounds d to three significant digits or so: 850µs, 812ms,
// 1.234s, 2m3s.
func duration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d < time.Microsecond {
		return strconv.FormatInt(int64(d), 10) + "ns"
	}
	if r := d.Round(time.Microsecond); r < time.Millisecond {
		return strconv.FormatInt(int64(r/time.Microsecond), 10) + "µs"
	}
	r := d.Round(time.Millisecond)
	switch {
	case r < time.Second:
		return strconv.FormatInt(int64(r/time.Millisecond), 10) + "ms"
	case r < time.Minute:
		return strconv.FormatFloat(r.Seconds(), 'f', 3, 64) + "s"
	}
	return d.Round(time.Second).String()
}
