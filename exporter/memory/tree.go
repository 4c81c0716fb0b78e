package memory

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/flowtrace/flowtrace"
)

// Tree returns the run as a compact tree, for exact assertions in tests:
// one line per run and component, children indented by two spaces under
// their parent in start order, each line "name (type) status" where status
// is "ok", "error: <first line of the message>", "suspended" (see
// flowtrace's SuspendTracers), "not ended" (the run ended first), or
// "open" (not ended yet). A
// component's model calls add " model=<name> tokens=<in>/<out>" to its
// line. The run's line has no type; lines end with "\n".
//
//	answer-question ok
//	  planner (agent) ok
//	    search (tool) error: timeout
//	    answer (llm) ok model=gpt-4o tokens=12/3
func (r Run) Tree() string { return r.tree(false) }

// SortedTree is Tree with siblings sorted by name, then type, then status:
// for runs whose parallel steps start in no fixed order.
func (r Run) SortedTree() string { return r.tree(true) }

func (r Run) tree(sorted bool) string {
	var b strings.Builder
	name := r.Info.RunName
	if name == "" {
		name = "run"
	}
	b.WriteString(name)
	b.WriteByte(' ')
	b.WriteString(status(r.Err, r.Ended, r.Suspended))
	b.WriteByte('\n')
	known := make(map[string]bool, len(r.Components))
	for _, c := range r.Components {
		known[c.Info.ComponentID] = true
	}
	children := make(map[string][]int)
	for i, c := range r.Components {
		parent := c.Info.ParentID
		if !known[parent] { // its parent's start never arrived: shown at the top
			parent = ""
		}
		children[parent] = append(children[parent], i)
	}
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		kids := children[parent]
		if sorted {
			slices.SortStableFunc(kids, func(i, j int) int {
				a, b := &r.Components[i], &r.Components[j]
				return cmp.Or(cmp.Compare(a.Info.Name, b.Info.Name), cmp.Compare(a.Info.Type, b.Info.Type),
					cmp.Compare(status(a.Err, a.Ended, a.Suspended), status(b.Err, b.Ended, b.Suspended)))
			})
		}
		for _, i := range kids {
			c := &r.Components[i]
			b.WriteString(strings.Repeat("  ", depth))
			b.WriteString(c.Info.Name)
			if c.Info.Type != "" {
				b.WriteString(" (")
				b.WriteString(c.Info.Type)
				b.WriteByte(')')
			}
			b.WriteByte(' ')
			b.WriteString(status(c.Err, c.Ended, c.Suspended))
			if mc := c.ModelCall(); mc.Model != "" || mc.Usage.InputTokens != 0 || mc.Usage.OutputTokens != 0 {
				if mc.Model != "" {
					b.WriteString(" model=")
					b.WriteString(mc.Model)
				}
				if u := mc.Usage; u.InputTokens != 0 || u.OutputTokens != 0 {
					b.WriteString(" tokens=")
					b.WriteString(itoa(u.InputTokens))
					b.WriteByte('/')
					b.WriteString(itoa(u.OutputTokens))
				}
			}
			b.WriteByte('\n')
			walk(c.Info.ComponentID, depth+1)
		}
	}
	walk("", 1)
	return b.String()
}

func status(err error, ended, suspended bool) string {
	switch {
	case !ended:
		return "open"
	case suspended && err == nil:
		return "suspended"
	case errors.Is(err, flowtrace.ErrComponentNotEnded):
		return "not ended"
	case err != nil:
		msg, _, more := strings.Cut(err.Error(), "\n")
		if more { // one line per component: the first line of the message
			msg += " …"
		}
		return "error: " + msg
	}
	return "ok"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
