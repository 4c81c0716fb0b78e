package flowtrace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/console"
	"github.com/flowtrace/flowtrace/exporter/jsonl"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// The tests of issue 9: each way a secret walked around masking, tried
// through every exporter of the repo. An exporter is added to the list by
// a sinkMaker: its constructor, and a function serialising everything it
// received, read after Shutdown.

// planted is the secret every leak test plants; it must appear nowhere.
const planted = "sk-live-PLANTED-0042"

// sink is an exporter under test and the serialisation of what it got.
type sink struct {
	exp  flowtrace.Exporter
	dump func() string
}

// sinkMakers make one sink of every exporter of the repo, and of a hostile
// one that digs into errors with errors.As and Unwrap.
var sinkMakers = map[string]func() sink{
	"memory": func() sink {
		rec := memory.New()
		return sink{rec, func() string {
			runs := rec.Runs()
			js, _ := json.Marshal(runs)
			var b strings.Builder
			fmt.Fprintf(&b, "%s\n%#v\n%+v\n", js, runs, runs)
			for _, r := range runs {
				b.WriteString(digError(r.Err))
				for _, c := range r.Components {
					b.WriteString(digError(c.Err))
				}
			}
			return b.String()
		}}
	},
	"jsonl": func() sink {
		var out bytes.Buffer // read after Shutdown only
		return sink{jsonl.New(&out), out.String}
	},
	"console": func() sink {
		var out bytes.Buffer
		return sink{console.New(&out), out.String}
	},
	"probe": func() sink {
		p := &probe{}
		return sink{p, p.String}
	},
}

// digError serialises what an exporter can reach from a recorded error:
// its message, the chain Unwrap gives, and what errors.As finds.
func digError(err error) string {
	var b strings.Builder
	for i := 0; err != nil && i < 16; i++ {
		fmt.Fprintf(&b, "%v|%#v|", err, err)
		var ae authError
		if errors.As(err, &ae) {
			fmt.Fprintf(&b, "As authError: %#v|", ae)
		}
		var pae *authError
		if errors.As(err, &pae) {
			fmt.Fprintf(&b, "As *authError: %#v|", *pae)
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				b.WriteString(digError(e))
			}
		}
		err = errors.Unwrap(err)
	}
	return b.String()
}

// probe is a hostile exporter: it serialises every record it receives
// with fmt and encoding/json, and digs into errors.
type probe struct {
	mu  sync.Mutex
	out strings.Builder
}

func (p *probe) Name() string { return "probe" }

func (p *probe) StartRun(_ context.Context, r flowtrace.RunStart) (flowtrace.RunExporter, error) {
	p.add(r, nil)
	return p, nil
}

func (p *probe) Shutdown(context.Context) error { return nil }

func (p *probe) add(rec any, err error) {
	js, jerr := json.Marshal(rec)
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(&p.out, "%s %v %#v %+v %s\n", js, jerr, rec, rec, digError(err))
}

func (p *probe) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *probe) StartComponent(_ context.Context, c flowtrace.ComponentStart) error {
	p.add(c, nil)
	return nil
}

func (p *probe) AddLog(_ context.Context, l flowtrace.LogEntry) error {
	p.add(l, nil)
	return nil
}

func (p *probe) SetOutputs(_ context.Context, o flowtrace.Outputs) error {
	p.add(o, nil)
	return nil
}

func (p *probe) EndComponent(_ context.Context, c flowtrace.ComponentEnd) error {
	p.add(c, c.Err)
	return nil
}

func (p *probe) EndRun(_ context.Context, r flowtrace.RunEnd) error {
	p.add(r, r.Err)
	return nil
}

// authError is an error with a field masked by its name.
type authError struct{ Token string }

func (e authError) Error() string { return "auth failed with token " + e.Token }

// taggedMsg holds a secret behind a tag.
type taggedMsg struct {
	Role string
	Key  string `flowtrace:"secret"`
}

// transcript prints all of its messages, tagged fields included.
type transcript struct{ Msgs []taggedMsg }

func (t transcript) String() string { return fmt.Sprintf("%+v", t.Msgs) }

// bodies marshals its messages with encoding/json, tags ignored.
type bodies map[string]taggedMsg

func (b bodies) MarshalJSON() ([]byte, error) {
	m := map[string]map[string]string{}
	for k, v := range b {
		m[k] = map[string]string{"role": v.Role, "value": v.Key}
	}
	return json.Marshal(m)
}

// request records its structure, not its String; its field's name says
// nothing, its TraceValue does.
type request struct {
	Prompt, Auth string
}

func (r request) String() string  { return r.Prompt + " with " + r.Auth }
func (r request) TraceValue() any { return map[string]any{"prompt": r.Prompt, "api_key": r.Auth} }

var _ flowtrace.Valuer = request{}

// leak is one way a secret could reach an exporter: write plants it
// through svc in the run of ctx, and returns the run's end error and
// outputs.
type leak struct {
	name string
	// opts are options of the service that owns the run.
	opts  []flowtrace.Option
	write func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error)
	// want, if set, must appear in every exporter's output that shows
	// whole records, so that a test cannot pass by recording nothing.
	want string
}

var leaks = []leak{
	{name: "String of a container of tagged structs", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		v := transcript{Msgs: []taggedMsg{{Role: "user", Key: planted}}}
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: map[string]any{"t": v}})
		svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: v})
		svc.SetOutputs(cctx, map[string]any{"t": &v})
		c.End(nil)
		return map[string]any{"t": []transcript{v}}, nil
	}, want: "user"},
	{name: "MarshalJSON of a container of tagged structs", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		v := bodies{"a": {Role: "user", Key: planted}}
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: map[string]any{"b": v}})
		svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: v})
		c.End(nil)
		return map[string]any{"b": v}, nil
	}, want: "user"},
	{name: "error wrapped with %w", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		err := fmt.Errorf("calling the model: %w", authError{Token: planted})
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
		svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: err})
		svc.SetOutputs(cctx, map[string]any{"error": err})
		c.End(err)
		return map[string]any{"error": err}, fmt.Errorf("run: %w", err)
	}, want: "calling the model"},
	{name: "errors joined", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		err := errors.Join(errors.New("first failure"), &authError{Token: planted})
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
		svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: err})
		c.End(err)
		return nil, err
	}, want: "first failure"},
	{name: "errors.As on a recorded error", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		// The innocent message hides nothing; the value behind it does.
		_, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
		c.End(&quietError{authError{Token: planted}})
		return nil, quietError{authError{Token: planted}}
	}, want: "quiet"},
	{name: "a second service writing through the ctx", opts: []flowtrace.Option{flowtrace.WithRedactKeys("customer_ref"), flowtrace.WithMaxStringLen(64)},
		write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
			// Another library's service, with defaults of its own.
			other, err := flowtrace.NewTraceService(flowtrace.WithAllowKeys("password"))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, other.Shutdown(deadline(t))) })
			cctx, c := other.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: map[string]any{"customer_ref": planted, "password": planted}})
			other.AddLog(cctx, flowtrace.Log{Name: "l", Message: map[string]any{"customer_ref": planted, "password": planted, "long": strings.Repeat("x", 100) + planted}})
			other.SetOutputs(cctx, map[string]any{"customer_ref": planted, "password": planted})
			other.SetOutputs(ctx, map[string]any{"CustomerRef": planted})
			c.End(nil)
			return map[string]any{"customer_ref": planted}, nil
		}, want: "truncated"},
	{name: "URL user info", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		u, err := url.Parse("postgres://app:" + planted + "@db:5432/orders")
		require.NoError(t, err)
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: map[string]any{"dsn": u.String(), "url": u, "value": *u}})
		svc.AddLog(cctx, flowtrace.Log{Name: "connect", Message: "dialing " + u.String() + " now"})
		c.End(fmt.Errorf("dial %s: refused", u))
		return map[string]any{"user": u.User}, nil
	}, want: "postgres://app:*****@db:5432/orders"},
	{name: "a log named like a secret", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		svc.AddLog(ctx, flowtrace.Log{Name: "api_key", Message: planted})
		svc.AddLog(ctx, flowtrace.Log{Name: "Authorization", Message: map[string]any{"scheme": "Bearer " + planted}})
		return nil, nil
	}, want: "api_key"},
	{name: "a JSON body in a []byte", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		body := []byte(`{"api_key":"` + planted + `","model":"gpt-4o","messages":[]}`)
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: map[string]any{"body": body}})
		svc.AddLog(cctx, flowtrace.Log{Name: "request", Message: body})
		c.End(nil)
		return nil, nil
	}, want: "len="},
	{name: "a secret seen once, later in the run", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: map[string]any{"api_key": planted}})
		svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: "calling with " + planted})
		svc.AddLog(cctx, flowtrace.Log{Name: "json", Message: `{"auth":"` + planted + `"}`})
		svc.AddLog(cctx, flowtrace.Log{Name: "stringer", Message: request{Prompt: "p", Auth: planted}.String()})
		svc.SetOutputs(cctx, map[string]any{"echo": []any{"key " + planted}})
		c.End(errors.New("rejected key " + planted))
		return map[string]any{"echo": planted}, fmt.Errorf("run failed for %s", planted)
	}, want: "calling with *****"},
	{name: "a secret found later in the same event", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		_, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c",
			Inputs:   map[string]any{"a": "first " + planted, "b": "second " + planted},
			Metadata: map[string]any{"token": planted}})
		c.End(nil)
		return nil, nil
	}, want: "first *****"},
	{name: "flowtrace.Secret", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		k := flowtrace.Secret(planted)
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: map[string]any{"innocent": k, "ptr": &k}})
		svc.AddLog(cctx, flowtrace.Log{Name: "fmt", Message: fmt.Sprintf("%v %s %q %#v %+v %x %d", k, k, k, k, k, k, k)})
		js, err := json.Marshal(map[string]any{"k": k})
		require.NoError(t, err)
		svc.AddLog(cctx, flowtrace.Log{Name: "json", Message: string(js)})
		var sl bytes.Buffer
		slog.New(slog.NewTextHandler(&sl, nil)).Info("m", "k", k)
		slog.New(slog.NewJSONHandler(&sl, nil)).Info("m", "k", k)
		svc.AddLog(cctx, flowtrace.Log{Name: "slog", Message: sl.String()})
		c.End(nil)
		return map[string]any{"k": []flowtrace.Secret{k}}, nil
	}, want: "innocent"},
	{name: "flowtrace.Valuer", write: func(t *testing.T, svc *flowtrace.TraceService, ctx context.Context) (map[string]any, error) {
		r := request{Prompt: "hello", Auth: planted}
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: map[string]any{"req": r}})
		svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: &r})
		c.End(nil)
		return nil, nil
	}, want: "hello"},
}

// quietError's message says nothing; its value holds a secret.
type quietError struct{ inner authError }

func (e quietError) Error() string { return "quiet failure" }
func (e quietError) Unwrap() error { return e.inner }

// TestLeaksThroughEveryExporter runs each leak of issue 9 with every
// exporter of the repo at once, and looks for the planted secret in
// everything each one received.
func TestLeaksThroughEveryExporter(t *testing.T) {
	for _, lk := range leaks {
		t.Run(lk.name, func(t *testing.T) {
			sinks := map[string]sink{}
			opts := []flowtrace.Option{}
			for name, mk := range sinkMakers {
				s := mk()
				sinks[name] = s
				opts = append(opts, flowtrace.WithExporter(s.exp))
			}
			errs := &errorLog{}
			opts = append(opts, flowtrace.WithErrorHandler(errs.handle))
			svc, err := flowtrace.NewTraceService(append(opts, lk.opts...)...)
			require.NoError(t, err)
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: lk.name})
			require.NoError(t, err)
			outputs, runErr := lk.write(t, svc, ctx)
			sum, err := svc.EndTracers(within(t, ctx), outputs, runErr)
			require.NoError(t, err)
			requireBalanced(t, sum)
			for name, d := range sum.Exporters {
				require.Zerof(t, d.Dropped+d.Failed, "exporter %s should receive every event, got %+v", name, d)
			}
			require.NoError(t, svc.Shutdown(deadline(t)))
			assert.Empty(t, errs.all(), "the run should report no error")
			for name, s := range sinks {
				dump := s.dump()
				assertNoSecret(t, name, dump, planted, "the planted secret")
				if lk.want != "" && name != "console" { // console prints no inputs
					assert.Containsf(t, dump, lk.want, "%s should have received the values around the secret", name)
				}
			}
		})
	}
}

// TestSecretPrintsMasked checks that a Secret is safe in fmt, json and
// slog, and that the caller gets it back by conversion.
func TestSecretPrintsMasked(t *testing.T) {
	k := flowtrace.Secret(planted)
	for _, f := range []string{"%v", "%s", "%q", "%#v", "%+v", "%x", "%X", "%d", "%10s", "%T"} {
		out := fmt.Sprintf(f, k)
		assert.NotContains(t, out, planted, "fmt %s", f)
		assert.NotContains(t, out, "PLANTED", "fmt %s", f)
	}
	assert.Equal(t, flowtrace.Masked, fmt.Sprint(k))
	assert.Equal(t, `"*****"`, fmt.Sprintf("%q", k))
	js, err := json.Marshal(struct{ K flowtrace.Secret }{k})
	require.NoError(t, err)
	assert.JSONEq(t, `{"K":"*****"}`, string(js))
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("m", "k", k, "p", &k)
	slog.New(slog.NewTextHandler(&b, nil)).Info("m", "k", k)
	assert.NotContains(t, b.String(), planted)
	assert.Equal(t, planted, string(k), "a conversion gives the value back")
}

// TestRecordedErrorKeepsSentinels checks what a recorded error still
// answers: the library's sentinels and context's errors, not the caller's.
func TestRecordedErrorKeepsSentinels(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	_, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
	c.End(fmt.Errorf("gave up: %w", context.DeadlineExceeded))
	sum, err := svc.EndTracers(within(t, ctx), nil, fmt.Errorf("wrapped: %w", flowtrace.ErrShutdown))
	require.NoError(t, err)
	run, ok := rec.Run(sum.RunID)
	require.True(t, ok)
	require.Len(t, run.Components, 1)
	assert.ErrorIs(t, run.Components[0].Err, context.DeadlineExceeded)
	assert.NotErrorIs(t, run.Components[0].Err, context.Canceled)
	assert.Equal(t, "gave up: context deadline exceeded", run.Components[0].Err.Error())
	assert.ErrorIs(t, run.Err, flowtrace.ErrShutdown)
	assert.Nil(t, errors.Unwrap(run.Err))
}

func TestAllowKeys(t *testing.T) {
	_, err := flowtrace.NewTraceService(flowtrace.WithAllowKeys("cookie", " "))
	require.ErrorIs(t, err, flowtrace.ErrInvalidOption, "an empty allow key should be refused")

	svc, rec, _ := newService(t, flowtrace.WithAllowKeys("session_token"), flowtrace.WithRedactKeys("session_id"))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{Metadata: map[string]any{
		"SessionToken": "st-visible", "SessionID": "sid-hidden", "max_tokens": 64, "access_token": "at-hidden",
	}})
	require.NoError(t, err)
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, ok := rec.Run(sum.RunID)
	require.True(t, ok)
	assert.Equal(t, map[string]any{
		"SessionToken": "st-visible", "SessionID": flowtrace.Masked, "max_tokens": int64(64), "access_token": flowtrace.Masked,
	}, run.Info.Metadata.Map())
}
