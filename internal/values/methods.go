package values

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// convert snapshots rv by the conversion c its type calls for. rv can
// be interfaced.
func (w *walker) convert(rv reflect.Value, c conv) any {
	x := rv.Interface()
	switch c {
	case convTime:
		return w.strValue(x.(time.Time).Format(time.RFC3339Nano))
	case convDuration:
		return w.strValue(x.(time.Duration).String())
	case convMarshaler:
		return w.marshaled(x.(json.Marshaler))
	case convError:
		return w.strValue(call("Error", x.(error).Error))
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
