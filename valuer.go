package flowtrace

// Valuer is implemented by a type that wants to be recorded as something
// other than itself, as slog.LogValuer is for log/slog: a value that
// implements it is recorded as what TraceValue returns, which is then
// masked and limited like any value. A message type can so record its
// structure instead of its String, or hide fields of its own. TraceValue
// is called on the goroutine of the recording call, as String would be; a
// panic in it is recorded as "!panic in TraceValue: …", and a TraceValue
// that returns another Valuer is followed up to the maximum depth.
type Valuer interface {
	TraceValue() any
}
