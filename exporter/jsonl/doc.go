// Package jsonl is a flowtrace exporter that writes one JSON object per
// event, one object per line, to an io.Writer (os.Stdout by default).
//
// # Schema
//
// The schema is stable: fields are added, never renamed or removed. Every
// line has the common fields, then those of its event, in this order.
//
//	field                event            JSON type  omitted when
//	-------------------  ---------------  ---------  -----------------
//	event                all              string     never
//	time                 all              string     never
//	run_id               all              string     never
//	component_id         log, outputs,    string     empty (run level)
//	                     component_start,
//	                     component_end
//	parent_run_id        run_start        string     empty
//	parent_component_id  run_start        string     empty
//	run_name             run_start        string     empty
//	project_name         run_start        string     empty
//	user_id              run_start        string     empty
//	session_id           run_start        string     empty
//	trace_id             run_start        string     never
//	parent_id            component_start  string     empty
//	name                 component_start, string     empty
//	                     log
//	type                 component_start, string     empty
//	                     log
//	inputs               run_start,       object     nil or empty
//	                     component_start
//	metadata             run_start,       object     nil or empty
//	                     component_start
//	tags                 run_start        array      none
//	span_id              run_start,       string     never
//	                     component_start
//	parent_span_id       run_start,       string     zero (top-level run)
//	                     component_start
//	resumed              run_start        bool       false
//	message              log              any        never (null if nil)
//	values               outputs, inputs  object     never ({} if empty)
//	outputs              run_end          object     nil or empty
//	error                component_end,   string     no error
//	                     run_end
//	suspended            component_end,   bool       false
//	                     run_end
//	model                model_call       string     empty
//	provider             model_call       string     empty
//	parameters           model_call       object     nil or empty
//	input_messages       model_call       array      none
//	output_messages      model_call       array      none
//	usage                model_call       object     all counts zero
//	cost                 model_call       number     zero (unknown)
//	input_cost           model_call       number     zero (unknown)
//	output_cost          model_call       number     zero (unknown)
//	finish_reasons       model_call       array      none
//	time_to_first_chunk_ms model_call     number     zero
//
// event is one of "run_start", "component_start", "log", "outputs",
// "inputs" (set after a start), "model_call", "component_end", "run_end".
// A message of input_messages and output_messages is an object with role
// and content, and name, tool_call_id and tool_calls ({id, name,
// arguments}) when set; usage has input_tokens, output_tokens,
// total_tokens, cache_read_tokens, cache_write_tokens and
// reasoning_tokens. time is when the event happened, in UTC, RFC
// 3339 with exactly nine fractional digits:
// "2026-11-24T10:00:00.123456789Z". trace_id is 32 and span_id and parent_span_id
// 16 lowercase hexadecimal digits. error is the error's Error() text.
//
// The rule for omission: a string is omitted when empty, a bool when false
// and an object when it has no key, except for the fields that are the point of their event
// (the identifiers, message and values), which are always present.
//
// # Values that cannot be encoded
//
// Values reach the exporter as JSON-safe snapshots, but a record built by
// hand may hold anything. A field whose value encoding/json cannot encode
// (a channel, a function, NaN, a failing MarshalJSON) is written as the
// string "!jsonl: cannot encode: <reason>" in place of the value; the
// rest of the line is kept and the call returns nil, since the event was
// written. Inside objects, keys are sorted, as encoding/json sorts them.
//
// # Writes
//
// Each event is encoded into a pooled buffer without any lock, then handed
// to the writer in exactly one Write call under the exporter's mutex, so
// lines of concurrent runs never interleave, even on a writer that is not
// safe for concurrent use. An error from Write is returned by the
// RunExporter call (the library counts the event as failed). Shutdown calls
// Flush if the writer has a Flush() error method (as *bufio.Writer does)
// and never closes the writer.
package jsonl
