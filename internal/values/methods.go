package values

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// convert snapshots rv by the conversion c its type calls for. rv can
// be interfaced.
func (w *walker) convert(rv reflect.Value, c conv) any {
	switch c {
	case convSecret:
		// Never converted, never printed: only remembered, so that the
		// run masks it wherever else it appears.
		w.remember(rv)
		return w.scalar(Masked, len(Masked)+2)
	case convUserinfo:
		w.remember(rv)
		return w.scalar(Masked, len(Masked)+2)
	}
	x := rv.Interface()
	switch c {
	case convValuer:
		return w.valuer(x.(Valuer))
	case convURL:
		u := x.(url.URL)
		return w.strValue(w.urlString(&u))
	case convTime:
		return w.strValue(x.(time.Time).Format(time.RFC3339Nano))
	case convDuration:
		return w.strValue(x.(time.Duration).String())
	case convMarshaler:
		return w.marshaled(x.(json.Marshaler))
	case convError:
		return w.strValue(w.errorText(x.(error)))
	case convStringer:
		return w.strValue(call("String", x.(fmt.Stringer).String))
	}
	return w.reflect(rv)
}

// call calls the caller's String or Error method, turning a panic into a
// marker.
func call(method string, f func() string) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = panicMarker(method, p)
		}
	}()
	return f()
}

// marshaled snapshots the output of MarshalJSON, decoded, so that it is
// masked and limited like any other value.
func (w *walker) marshaled(m json.Marshaler) any {
	raw, panicked, err := marshalJSON(m)
	if panicked != "" {
		return w.strValue(panicked)
	}
	if err != nil {
		return w.strValue("!error in MarshalJSON: " + call("Error", err.Error))
	}
	if len(raw) > w.s.maxBytes {
		// Output larger than a whole event is not decoded: masking might
		// shrink it, but finding out would cost the caller more than the
		// value is worth. The test is against MaxBytes, not what is left of
		// the budget, so that whether it is kept does not depend on the
		// order of the values around it.
		return w.over()
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return w.strValue("!error in MarshalJSON: " + err.Error())
	}
	return w.value(v)
}

// marshalJSON calls MarshalJSON, returning the marker of a panic in it.
func marshalJSON(m json.Marshaler) (raw []byte, panicked string, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked = panicMarker("MarshalJSON", p)
		}
	}()
	raw, err = m.MarshalJSON()
	return raw, "", err
}

// valuer snapshots what TraceValue returns. A TraceValue that returns
// another Valuer is followed, up to MaxDepth of them.
func (w *walker) valuer(v Valuer) any {
	if w.valuers >= w.s.maxDepth {
		return w.marker(MarkerDepth)
	}
	r, panicked := traceValue(v)
	if panicked != "" {
		return w.strValue(panicked)
	}
	w.valuers++
	out := w.value(r)
	w.valuers--
	return out
}

func traceValue(v Valuer) (r any, panicked string) {
	defer func() {
		if p := recover(); p != nil {
			panicked = panicMarker("TraceValue", p)
		}
	}()
	return v.TraceValue(), ""
}

// maxChain bounds the errors of a chain inspected for secrets.
const maxChain = 64

// errorText returns the message of err with what the errors it wraps
// would print of their masked fields masked: an error whose type hides a
// masked field has its own message, wherever it appears in err's, replaced
// by the text of its masked snapshot, and the secrets found in it are
// scrubbed from the message too. That covers fmt.Errorf's %w and
// errors.Join, which copy the messages they wrap.
func (w *walker) errorText(err error) string {
	msg := call("Error", err.Error)
	sub := walker{s: w.s, seen: w.seen, collect: true}
	sub.start(nil)
	n := 0
	var walk func(e error)
	walk = func(e error) {
		if e == nil || n >= maxChain {
			return
		}
		n++
		if t := reflect.TypeOf(e); w.s.info(t).secret {
			if inner := call("Error", e.Error); inner != "" {
				v := sub.value(e)
				masked, ok := v.(string)
				if !ok {
					masked = sprint(v)
				}
				msg = strings.ReplaceAll(msg, inner, masked)
			}
			// Its own fields are walked: what it wraps is reached by them,
			// or not at all.
		}
		for _, c := range unwrap(e) {
			walk(c)
		}
	}
	walk(err)
	if len(sub.found) > 0 {
		msg = (*Secrets)(nil).With(sub.found).Scrub(msg)
		if w.collect {
			w.found = append(w.found, sub.found...)
		}
	}
	return msg
}

// unwrap returns what e wraps, recovering a panic in its Unwrap.
func unwrap(e error) (out []error) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	switch x := e.(type) {
	case interface{ Unwrap() []error }:
		return x.Unwrap()
	default:
		if u := errors.Unwrap(e); u != nil {
			return []error{u}
		}
	}
	return nil
}

// opaqueError returns the message of an error struct that hides a secret
// in fields that are not exported, with every string under its masked
// fields (of any length) replaced by Masked.
func (w *walker) opaqueError(rv reflect.Value) string {
	var e error
	switch {
	case rv.Type().Implements(typeError):
		e = rv.Interface().(error)
	case rv.CanAddr():
		e = rv.Addr().Interface().(error)
	default:
		p := reflect.New(rv.Type())
		p.Elem().Set(rv)
		e = p.Interface().(error)
	}
	msg := call("Error", e.Error)
	var secrets []string
	n := 0
	w.s.maskedStrings(rv, false, 0, &n, &secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range secrets {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, Masked)
		}
		w.rememberString(sec)
	}
	return msg
}
