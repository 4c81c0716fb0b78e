// Package console is a flowtrace exporter that prints each run, when it
// ends, as a tree a person reads at a glance.
//
// # Output
//
//	▶ support-bot  run 6f1c2a9e…90e2  trace=6f1c2a9e1b2c4d5e8f901234567890e2 user=u1 session=s1  1.234s  ok
//	├─ OpenAI (llm) 812ms ok
//	│  ├ log prompt: "What is the capital of France? Answer in one word, please,…
//	│  ├ out text: "Paris"
//	│  └ out tokens: 3
//	├─ search (tool) 40ms error: timeout
//	│  └─ http (tool) 39ms ok
//	├ log done: "finished"
//	└ out answer: "Paris"
//
// The header names the run, its ID, where it was started if it is a nested
// run ("(in run … / component …)"), its trace ID in full (runs of one
// workflow — nested, continued from another process, resumed — share it,
// and it is what a tracing backend searches by), its project, user and
// session, its duration and its status. Below it come the run's children in the order
// they arrived: components (├─) and logs, then its outputs. A component
// shows its name, type, duration (end − start) and status: "ok",
// "error: <message>", "suspended" if its run was suspended while it was
// open (flowtrace's SuspendTracers; a suspended run's status says so too),
// or "not ended" if its end was never delivered or it was closed by the
// end of its run (flowtrace.ErrComponentNotEnded). Its
// own logs, child components and outputs hang below it. A component nests
// under its ParentID if that component was seen before it, under the run
// otherwise. Nested runs are separate runs, each printed when it ends.
//
// Values are rendered compactly (strings quoted, objects with sorted keys)
// and cut to 60 characters with "…"; names and error messages are kept on
// one line and cut to 100. IDs longer than 14 characters are shortened to
// their first eight and last four. A component shows at most 20 logs,
// followed by a count of the others.
//
// # Delivery
//
// A RunExporter buffers its run, renders it on EndRun and hands the whole
// tree to the writer in one Write call under the exporter's mutex, so runs
// ending concurrently never interleave. A log, outputs or end naming a
// component whose start was not delivered (it may have been dropped under
// queue overflow) is shown under a placeholder "? <id> (start not seen)"
// rather than lost. If a run reuses a component ID, later records for that
// ID go to its latest start. Records after EndRun are refused with
// ErrRunEnded. A run whose EndRun never comes is never printed.
package console
