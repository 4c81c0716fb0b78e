package flowtrace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/jsonl"
)

const (
	// prefixSecret is masked by the test's own Redactor (strings starting
	// with "sk-"), wherever it is, even under an innocent key.
	prefixSecret = "sk-SECRET-4242"
	// keySecret is not matched by the Redactor: only the key rules (default
	// redact keys, WithRedactKeys, `flowtrace:"secret"`) can mask it.
	keySecret = "hunter2-XYZ"
	// visible is recorded next to the secrets, so that the test cannot pass
	// by recording nothing.
	visible = "visible-ok"
)

// skRedactor masks every string value starting with "sk-".
func skRedactor(_ []string, v any) (any, bool) {
	if s, ok := v.(string); ok && strings.HasPrefix(s, "sk-") {
		return flowtrace.Masked, true
	}
	return nil, false
}

type account struct {
	User     string
	Password string
	Comment  string // innocent name: only the Redactor can catch prefixSecret
}

type secretNote struct {
	Title  string
	Note   string `flowtrace:"secret"`
	Hidden string `flowtrace:"-"`
}

type logStruct struct {
	Text   string
	APIKey string `json:"api_key"`
	Token  *string
	Hint   *string // innocent name, points to prefixSecret
	Inner  account
}

// marshalerWithSecrets returns secrets from MarshalJSON, which is decoded
// and snapshotted like any other value.
type marshalerWithSecrets struct{}

func (marshalerWithSecrets) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"password": keySecret, "comment": prefixSecret, "ok": visible})
}

// nested returns levels maps nested under keys l1..levels, the innermost
// holding leaf.
func nested(levels int, leaf map[string]any) map[string]any {
	m := leaf
	for i := levels; i >= 1; i-- {
		m = map[string]any{fmt.Sprint("l", i): m}
	}
	return m
}

// dig follows keys down a recorded value.
func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		if f, ok := v.(flowtrace.Fields); ok {
			v = f.Map()
		}
		m, ok := v.(map[string]any)
		require.Truef(t, ok, "want a map at key %q of path %v, got %T", k, keys, v)
		v, ok = m[k]
		require.Truef(t, ok, "want key %q on path %v in %v", k, keys, m)
	}
	return v
}

// assertNoSecret fails if dump contains secret, showing where, rather than
// the whole dump.
func assertNoSecret(t *testing.T, where, dump, secret, what string) {
	t.Helper()
	var found []string
	for rest, off := dump, 0; len(found) < 5; {
		i := strings.Index(rest, secret)
		if i < 0 {
			break
		}
		at := off + i
		found = append(found, fmt.Sprintf("…%s…", dump[max(at-120, 0):min(at+len(secret)+20, len(dump))]))
		rest, off = rest[i+len(secret):], at+len(secret)
	}
	assert.Emptyf(t, found, "%s %q must not reach %s; found it %d time(s) (first ones shown)", what, secret, where, strings.Count(dump, secret))
}

// TestSecretsNeverReachAnyExporter plants two secrets everywhere a caller
// can hand a value to flowtrace, and checks that neither reaches the memory
// exporter nor the JSONL output, while the values around them do.
func TestSecretsNeverReachAnyExporter(t *testing.T) {
	var out bytes.Buffer // written by the jsonl exporter only; read after Shutdown
	svc, rec, errs := newService(t,
		flowtrace.WithExporter(jsonl.New(&out)),
		flowtrace.WithRedactKeys("ssn"),
		flowtrace.WithRedactor(skRedactor),
	)

	hint := prefixSecret
	tok := keySecret
	inputs := map[string]any{
		// Depth 1.
		"api_key":       keySecret,
		"prompt_prefix": prefixSecret, // Redactor only
		"visible":       visible,
		// Depth 3.
		"a": map[string]any{"b": map[string]any{"Password": keySecret, "sibling": visible}},
		// Depth 8: seven levels of maps, then the key.
		"deep": nested(7, map[string]any{"X-Auth-Token": keySecret, "note": prefixSecret, "sibling": visible}),
		// Slices of structs.
		"accounts": []account{{User: visible, Password: keySecret, Comment: prefixSecret}},
		"notes":    []secretNote{{Title: visible, Note: keySecret, Hidden: keySecret}},
		// Mixed-case keys.
		"headers": map[string]any{"ApiKey": keySecret, "SECRET_value": keySecret, "Set-Cookie": keySecret, "Accept": visible},
		"strmap":  map[string]string{"Authorization": keySecret, "x": prefixSecret, "Accept": visible},
		// WithRedactKeys("ssn").
		"Customer_SSN": keySecret,
		// The Redactor in slices, behind pointers, under non-string keys.
		"list":    []any{prefixSecret, visible},
		"strings": []string{prefixSecret, visible},
		"ptr":     &hint,
		"intkeys": map[int]string{1: prefixSecret, 2: visible},
		// What MarshalJSON returns is masked too.
		"marshaler": marshalerWithSecrets{},
	}
	deepLeaf := dig(t, inputs["deep"], "l1", "l2", "l3", "l4", "l5", "l6", "l7").(map[string]any)

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{
		RunName: "secrets", UserID: "u1", SessionID: "s1",
		Metadata: map[string]any{"api_key": keySecret, "model_hint": prefixSecret, "tier": visible},
	})
	require.NoError(t, err)
	id := runID(t, ctx)

	cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{
		Name: "llm", Type: "llm", Inputs: inputs,
		Metadata: map[string]any{"credential": keySecret, "private-key": keySecret, "hint": prefixSecret, "tier": visible},
	})
	require.NotNil(t, comp)
	svc.AddLog(cctx, flowtrace.Log{Name: "map-msg", Message: map[string]any{"token": keySecret, "text": prefixSecret, "ok": visible}})
	svc.AddLog(cctx, flowtrace.Log{Name: "struct-msg", Message: logStruct{
		Text: visible, APIKey: keySecret, Token: &tok, Hint: &hint,
		Inner: account{User: visible, Password: keySecret, Comment: prefixSecret},
	}})
	svc.AddLog(cctx, flowtrace.Log{Name: "string-msg", Message: prefixSecret})
	svc.SetOutputs(cctx, map[string]any{"passwd": keySecret, "answer": prefixSecret, "ok": visible})
	comp.End(nil)
	svc.AddLog(ctx, flowtrace.Log{Name: "run-log", Message: map[string]any{"cookie": keySecret, "ok": visible}})
	svc.SetOutputs(ctx, map[string]any{"authorization": keySecret, "partial": prefixSecret, "ok": visible})

	sum, err := svc.EndTracers(within(t, ctx), map[string]any{
		"apikey": keySecret, "final": prefixSecret, "ssn_last4": keySecret, "answer": visible,
	}, nil)
	require.NoError(t, err, "EndTracers delivers every event")
	requireBalanced(t, sum)
	for name, d := range sum.Exporters {
		assert.Zerof(t, d.Dropped+d.Failed, "exporter %s should receive every event, got %+v", name, d)
	}
	require.NoError(t, svc.Shutdown(deadline(t)), "Shutdown before reading the JSONL buffer")
	assert.Empty(t, errs.all(), "a correct run reports no error")

	// Everything the memory exporter holds.
	runs := rec.Runs()
	require.Len(t, runs, 1, "the memory exporter should hold the run")
	js, err := json.Marshal(runs)
	require.NoError(t, err, "the recorded runs should marshal to JSON")
	dumps := map[string]string{
		"memory (JSON)": string(js),
		"memory (%#v)":  fmt.Sprintf("%#v", runs),
		"memory (%+v)":  fmt.Sprintf("%+v", runs),
		"jsonl":         out.String(),
	}
	for where, dump := range dumps {
		assertNoSecret(t, where, dump, keySecret, "the key-masked secret")
		assertNoSecret(t, where, dump, prefixSecret, "the Redactor-masked secret")
		assert.Containsf(t, dump, visible, "the non-secret siblings should reach %s", where)
		assert.Containsf(t, dump, flowtrace.Masked, "masked values should be recorded as %q in %s", flowtrace.Masked, where)
	}
	assert.Equal(t, 10, strings.Count(out.String(), "\n"),
		"jsonl should hold one line per event: run start, component start, 3 logs, outputs, component end, run log, run outputs, run end")

	// Masked, not dropped: the keys are still there, holding the marker.
	run, ok := rec.Run(id)
	require.True(t, ok, "the run should be recorded under its ID")
	c := component(t, run, "llm")
	in := c.Info.Inputs
	assert.Equal(t, flowtrace.Masked, dig(t, in, "api_key"), "depth 1 under api_key")
	assert.Equal(t, flowtrace.Masked, dig(t, in, "prompt_prefix"), "the Redactor masks an sk- string under an innocent key")
	assert.Equal(t, visible, dig(t, in, "visible"))
	assert.Equal(t, flowtrace.Masked, dig(t, in, "a", "b", "Password"), "depth 3 under Password")
	assert.Equal(t, visible, dig(t, in, "a", "b", "sibling"))
	deep := []string{"deep", "l1", "l2", "l3", "l4", "l5", "l6", "l7"}
	assert.Equal(t, flowtrace.Masked, dig(t, in, append(deep, "X-Auth-Token")...), "depth 8 under X-Auth-Token")
	assert.Equal(t, flowtrace.Masked, dig(t, in, append(deep, "note")...), "the Redactor at depth 8")
	assert.Equal(t, visible, dig(t, in, append(deep, "sibling")...), "the depth-8 sibling is recorded")
	acct := dig(t, in, "accounts").([]any)[0]
	assert.Equal(t, map[string]any{"User": visible, "Password": flowtrace.Masked, "Comment": flowtrace.Masked}, acct, "a struct in a slice")
	note := dig(t, in, "notes").([]any)[0]
	assert.Equal(t, map[string]any{"Title": visible, "Note": flowtrace.Masked}, note, `a flowtrace:"secret" field is masked and a flowtrace:"-" one skipped`)
	assert.Equal(t, map[string]any{"ApiKey": flowtrace.Masked, "SECRET_value": flowtrace.Masked, "Set-Cookie": flowtrace.Masked, "Accept": visible}, dig(t, in, "headers"), "mixed-case keys")
	assert.Equal(t, map[string]any{"Authorization": flowtrace.Masked, "x": flowtrace.Masked, "Accept": visible}, dig(t, in, "strmap"), "map[string]string")
	assert.Equal(t, flowtrace.Masked, dig(t, in, "Customer_SSN"), "a key given to WithRedactKeys")
	assert.Equal(t, []any{flowtrace.Masked, visible}, dig(t, in, "list"))
	assert.Equal(t, []any{flowtrace.Masked, visible}, dig(t, in, "strings"))
	assert.Equal(t, flowtrace.Masked, dig(t, in, "ptr"), "the Redactor sees through pointers")
	assert.Equal(t, map[string]any{"1": flowtrace.Masked, "2": visible}, dig(t, in, "intkeys"))
	assert.Equal(t, map[string]any{"password": flowtrace.Masked, "comment": flowtrace.Masked, "ok": visible}, dig(t, in, "marshaler"), "what MarshalJSON returns")
	assert.Equal(t, map[string]any{"credential": flowtrace.Masked, "private-key": flowtrace.Masked, "hint": flowtrace.Masked, "tier": visible}, c.Info.Metadata.Map(), "component metadata")
	assert.Equal(t, map[string]any{"api_key": flowtrace.Masked, "model_hint": flowtrace.Masked, "tier": visible}, run.Info.Metadata.Map(), "run metadata")
	assert.Equal(t, map[string]any{"passwd": flowtrace.Masked, "answer": flowtrace.Masked, "ok": visible}, c.Outputs, "component outputs")
	assert.Equal(t, map[string]any{
		"authorization": flowtrace.Masked, "partial": flowtrace.Masked,
		"apikey": flowtrace.Masked, "final": flowtrace.Masked, "ssn_last4": flowtrace.Masked, "answer": visible, "ok": visible,
	}, run.Outputs, "run outputs, set and given to EndTracers")
	require.Len(t, c.Logs, 3, "the component's three logs are recorded")
	assert.Equal(t, map[string]any{"token": flowtrace.Masked, "text": flowtrace.Masked, "ok": visible}, c.Logs[0].Message, "a map log message")
	assert.Equal(t, map[string]any{
		"Text": visible, "api_key": flowtrace.Masked, "Token": flowtrace.Masked, "Hint": flowtrace.Masked,
		"Inner": map[string]any{"User": visible, "Password": flowtrace.Masked, "Comment": flowtrace.Masked},
	}, c.Logs[1].Message, "a struct log message")
	assert.Equal(t, flowtrace.Masked, c.Logs[2].Message, "a string log message the Redactor matches")
	require.Len(t, run.Logs, 1)
	assert.Equal(t, map[string]any{"cookie": flowtrace.Masked, "ok": visible}, run.Logs[0].Message, "a run log message")

	// Masking never modifies the caller's values.
	assert.Equal(t, keySecret, inputs["api_key"], "the caller's map keeps its secret")
	assert.Equal(t, prefixSecret, inputs["prompt_prefix"], "the caller's map keeps its secret")
	assert.Equal(t, keySecret, inputs["a"].(map[string]any)["b"].(map[string]any)["Password"], "the caller's nested map keeps its secret")
	assert.Equal(t, keySecret, deepLeaf["X-Auth-Token"], "the caller's depth-8 map keeps its secret")
	assert.Equal(t, keySecret, inputs["accounts"].([]account)[0].Password, "the caller's struct keeps its secret")
	assert.Equal(t, keySecret, inputs["notes"].([]secretNote)[0].Note, "the caller's struct keeps its secret")
	assert.Equal(t, keySecret, inputs["headers"].(map[string]any)["Set-Cookie"], "the caller's header map keeps its secret")
	assert.Equal(t, keySecret, inputs["strmap"].(map[string]string)["Authorization"], "the caller's map[string]string keeps its secret")
	assert.Equal(t, []string{prefixSecret, visible}, inputs["strings"], "the caller's slice keeps its secret")
	assert.Equal(t, prefixSecret, hint, "the caller's pointee keeps its secret")
}

// TestIdentityIsNeverCut checks that identifiers are outside the limits on
// values: with tiny limits, 1,000-byte IDs are recorded whole while a
// 1,000-byte input is cut.
func TestIdentityIsNeverCut(t *testing.T) {
	const n = 1000
	long := func(prefix string) string {
		return prefix + strings.Repeat("x", n-len(prefix)-4) + "-end"
	}
	runIDv, userID, sessionID, compID, input := long("run-"), long("user-"), long("session-"), long("comp-"), long("input-")
	require.Len(t, runIDv, n)

	svc, rec, errs := newService(t, flowtrace.WithMaxStringLen(16), flowtrace.WithMaxEventBytes(256))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: runIDv, RunName: "ids", UserID: userID, SessionID: sessionID})
	require.NoError(t, err)
	rc, ok := flowtrace.RunFromContext(ctx)
	require.True(t, ok, "ctx must carry the run")
	assert.Equal(t, runIDv, rc.RunID(), "RunContext.RunID should be the whole 1,000-byte ID")
	assert.Equal(t, userID, rc.UserID(), "RunContext.UserID should be the whole 1,000-byte ID")
	assert.Equal(t, sessionID, rc.SessionID(), "RunContext.SessionID should be the whole 1,000-byte ID")

	cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: compID, Name: "c", Inputs: map[string]any{"q": input}})
	require.NotNil(t, comp)
	cc, ok := flowtrace.ComponentFromContext(cctx)
	require.True(t, ok, "cctx must carry the component")
	assert.Equal(t, compID, cc.ID(), "ComponentContext.ID should be the whole 1,000-byte ID")
	assert.Equal(t, runIDv, cc.RunID(), "ComponentContext.RunID should be the whole 1,000-byte ID")
	svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: "m"})
	comp.End(nil)
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)
	assert.Equal(t, runIDv, sum.RunID, "the summary should name the whole run ID")
	assert.Empty(t, errs.all(), "a correct run reports no error")

	run, ok := rec.Run(runIDv)
	require.True(t, ok, "the run should be recorded under its whole 1,000-byte ID")
	assert.Equal(t, runIDv, run.Info.RunID, "recorded run ID intact")
	assert.Equal(t, userID, run.Info.UserID, "recorded user ID intact")
	assert.Equal(t, sessionID, run.Info.SessionID, "recorded session ID intact")
	require.Len(t, run.Components, 1)
	c := run.Components[0]
	assert.Equal(t, compID, c.Info.ComponentID, "recorded component ID intact")
	assert.Equal(t, runIDv, c.Info.RunID, "the component's run ID intact")
	require.Len(t, c.Logs, 1)
	assert.Equal(t, compID, c.Logs[0].ComponentID, "the log's component ID intact")
	assert.Equal(t, runIDv, c.Logs[0].RunID, "the log's run ID intact")

	q, ok := c.Info.Inputs.Map()["q"].(string)
	require.Truef(t, ok, "the input should be recorded as a string, got %T", c.Info.Inputs.Map()["q"])
	assert.Contains(t, q, "truncated", "a 1,000-byte input value should be cut with a marker")
	assert.True(t, strings.HasPrefix(q, input[:16]), "the cut input should keep the first 16 bytes, got %q", q)
	assert.Less(t, len(q), 100, "the cut input should be about 16 bytes plus the marker, got %d bytes", len(q))
}

// TestHugeInputIsCutBeforeCopying hands a 50 MB string to TraceComponent:
// it is cut before it is copied, so the call allocates far less than the
// string.
func TestHugeInputIsCutBeforeCopying(t *testing.T) {
	svc, rec, errs := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "huge"})
	require.NoError(t, err)
	// Warm up, so that one-time costs are not measured.
	_, warm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "warm-up", Inputs: map[string]any{"body": "small"}})
	warm.End(nil)

	huge := strings.Repeat("x", 50<<20)
	inputs := map[string]any{"body": huge}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "huge", Inputs: inputs})
	runtime.ReadMemStats(&after)
	require.NotNil(t, comp)
	comp.End(nil)
	if raceEnabled {
		t.Log("allocation not measured: the race detector allocates on its own")
	} else {
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("TraceComponent with a 50 MB input allocated %d bytes", alloc)
		assert.Less(t, alloc, uint64(1<<20), "TraceComponent with a 50 MB input should allocate well under 1 MiB, allocated %d bytes", alloc)
	}

	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)
	assert.Empty(t, errs.all(), "a correct run reports no error")
	run, ok := rec.Run(sum.RunID)
	require.True(t, ok, "the run should be recorded")
	body, ok := component(t, run, "huge").Info.Inputs.Map()["body"].(string)
	require.True(t, ok, "the huge input should be recorded as a string")
	assert.Contains(t, body, "truncated", "the huge input should be cut with a marker")
	assert.LessOrEqual(t, len(body), flowtrace.DefaultMaxStringLen+100, "the recorded input should be about DefaultMaxStringLen bytes, got %d", len(body))
	assert.Greater(t, len(body), flowtrace.DefaultMaxStringLen/2, "the recorded input should keep a prefix of about DefaultMaxStringLen bytes, got %d", len(body))
	assert.Len(t, huge, 50<<20, "the caller's string is untouched")
}
