package otelspans_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// presetEnv lists every variable a preset reads.
var presetEnv = []string{
	otelspans.EnvLangfusePublicKey, otelspans.EnvLangfuseSecretKey, otelspans.EnvLangfuseBaseURL, otelspans.EnvLangfuseHost,
	otelspans.EnvPhoenixCollectorEndpoint, otelspans.EnvPhoenixAPIKey, otelspans.EnvPhoenixProject,
	otelspans.EnvPhoenixProjectName, otelspans.EnvPhoenixClientHeaders, otelspans.EnvPhoenixGRPCPort,
	otelspans.EnvLangSmithAPIKey, otelspans.EnvLangSmithEndpoint, otelspans.EnvLangSmithProject,
	otelspans.EnvLangChainAPIKey, otelspans.EnvLangChainEndpoint, otelspans.EnvLangChainProject,
	otelspans.EnvOpikURLOverride, otelspans.EnvOpikAPIKey, otelspans.EnvOpikWorkspace, otelspans.EnvOpikProjectName,
}

// clearEnv blanks, for the test, the standard variables and every preset's
// (a blank value counts as unset), then sets env.
func clearEnv(t *testing.T, env map[string]string) {
	t.Helper()
	clearOTelEnv(t)
	for _, k := range presetEnv {
		t.Setenv(k, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// sendRun builds an exporter with opts from the environment as it is now,
// records one run through it and returns the run.
func sendRun(t *testing.T, opts ...otelspans.Option) flowtrace.RunContext {
	t.Helper()
	e, err := otelspans.NewOTLP(context.Background(), opts...)
	require.NoError(t, err)
	return recordRun(t, e, flowtrace.RunInfo{RunName: "ask", SessionID: "sess-1"})
}

// assertDelivered checks that every request went to path with the wanted
// headers (a "" value: the header is absent), gzipped, and that the run
// arrived as a tree: the run span, with flowtrace's ids, the parent of the
// component span, both with OpenInference attributes and the service name.
func assertDelivered(t *testing.T, r *receiver, rc flowtrace.RunContext, path, service string, headers map[string]string) {
	t.Helper()
	reqs := r.all()
	require.NotEmpty(t, reqs, "the receiver got the run")
	for _, rq := range reqs {
		assert.Equal(t, path, rq.path, "traces endpoint")
		assert.True(t, rq.gzipped, "gzip by default")
		assert.Equal(t, "application/x-protobuf", rq.header.Get("Content-Type"))
		for k, want := range headers {
			if want == "" {
				assert.Empty(t, rq.header.Values(k), "header %s must not be sent", k)
				continue
			}
			assert.Equal(t, []string{want}, rq.header.Values(k), "header %s", k)
		}
	}
	var run, comp span
	for _, s := range r.spans() {
		switch s.GetName() {
		case "ask":
			run = s
		case "retrieve":
			comp = s
		}
	}
	require.NotNil(t, run.Span, "run span received")
	require.NotNil(t, comp.Span, "component span received")
	assert.Equal(t, service, run.service, "resource service.name")
	assert.Equal(t, service, comp.service)
	assert.Equal(t, rc.TraceIDString(), hex.EncodeToString(run.GetTraceId()), "the run's trace id")
	sid := rc.SpanID()
	assert.Equal(t, sid[:], run.GetSpanId(), "the run's span id")
	assert.Empty(t, run.GetParentSpanId(), "a top-level run is a root span")
	assert.Equal(t, run.GetTraceId(), comp.GetTraceId(), "one trace")
	assert.Equal(t, run.GetSpanId(), comp.GetParentSpanId(), "the component is a child of the run")
	assert.Equal(t, "CHAIN", run.attr(otelspans.KeyOISpanKind))
	assert.Equal(t, "RETRIEVER", comp.attr(otelspans.KeyOISpanKind))
	assert.Equal(t, "sess-1", comp.attr(otelspans.KeySessionID))
	assert.JSONEq(t, `{"docs":2}`, comp.attr(otelspans.KeyOIOutputValue))
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestLangfuse(t *testing.T) {
	const pk, sk = "pk-lf-1234", "sk-lf-5678"
	for _, tc := range []struct {
		name string
		env  func(url string) map[string]string
	}{
		{"LANGFUSE_BASE_URL", func(url string) map[string]string {
			return map[string]string{otelspans.EnvLangfuseBaseURL: url + "/"}
		}},
		{"deprecated LANGFUSE_HOST", func(url string) map[string]string {
			return map[string]string{otelspans.EnvLangfuseHost: url}
		}},
		{"LANGFUSE_BASE_URL wins over LANGFUSE_HOST", func(url string) map[string]string {
			return map[string]string{otelspans.EnvLangfuseBaseURL: url, otelspans.EnvLangfuseHost: "http://127.0.0.1:1"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t)
			env := tc.env(r.srv.URL)
			env[otelspans.EnvLangfusePublicKey] = pk
			env[otelspans.EnvLangfuseSecretKey] = " " + sk + "\n" // as pasted from a .env file
			env[otelspans.EnvServiceName] = "svc-langfuse"
			clearEnv(t, env)
			rc := sendRun(t, otelspans.Langfuse())
			assertDelivered(t, r, rc, "/api/public/otel/v1/traces", "svc-langfuse", map[string]string{
				"Authorization":                basic(pk, sk),
				"x-langfuse-ingestion-version": "4",
			})
		})
	}
}

func TestPhoenix(t *testing.T) {
	for _, tc := range []struct {
		name, suffix, path, project string
		env                         map[string]string
		headers                     map[string]string
	}{
		{
			name: "local, no key", path: "/v1/traces",
			headers: map[string]string{"Authorization": "", "api_key": ""},
		},
		{
			name: "cloud space, key, project", suffix: "/s/my-space", path: "/s/my-space/v1/traces", project: "flows",
			env: map[string]string{
				otelspans.EnvPhoenixAPIKey:      "px-key-1",
				otelspans.EnvPhoenixProjectName: "flows",
			},
			headers: map[string]string{"Authorization": "Bearer px-key-1"},
		},
		{
			name: "full traces URL, PHOENIX_PROJECT wins over its alias", suffix: "/v1/traces", path: "/v1/traces", project: "canonical",
			env: map[string]string{
				otelspans.EnvPhoenixProject:     "canonical",
				otelspans.EnvPhoenixProjectName: "alias",
			},
		},
		{
			name: "legacy cloud instance: api_key header", path: "/v1/traces",
			env: map[string]string{
				otelspans.EnvPhoenixAPIKey:        "px-key-2",
				otelspans.EnvPhoenixClientHeaders: "api_key=px-key-2,x-team=ai%20lab",
			},
			headers: map[string]string{"Authorization": "Bearer px-key-2", "api_key": "px-key-2", "x-team": "ai lab"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t)
			env := map[string]string{otelspans.EnvPhoenixCollectorEndpoint: r.srv.URL + tc.suffix}
			for k, v := range tc.env {
				env[k] = v
			}
			clearEnv(t, env)
			rc := sendRun(t, otelspans.Phoenix(), otelspans.WithServiceName("svc-phoenix"))
			assertDelivered(t, r, rc, tc.path, "svc-phoenix", tc.headers)
			for _, p := range r.resourceAttr(otelspans.KeyOIProjectName) {
				assert.Equal(t, tc.project, p, "resource attribute %s", otelspans.KeyOIProjectName)
			}
		})
	}
}

func TestLangSmith(t *testing.T) {
	for _, tc := range []struct {
		name, suffix, path string
		env                map[string]string
		headers            map[string]string
	}{
		{
			name: "LANGSMITH_ names", suffix: "/", path: "/otel/v1/traces",
			env: map[string]string{
				otelspans.EnvLangSmithAPIKey:  "lsv2_pt_key",
				otelspans.EnvLangSmithProject: "flows",
				otelspans.EnvLangChainAPIKey:  "legacy-not-used",
			},
			headers: map[string]string{"x-api-key": "lsv2_pt_key", "Langsmith-Project": "flows"},
		},
		{
			name: "legacy LANGCHAIN_ names, self-hosted /api/v1", suffix: "/api/v1", path: "/api/v1/otel/v1/traces",
			env: map[string]string{
				otelspans.EnvLangChainAPIKey:  "ls-legacy-key",
				otelspans.EnvLangChainProject: "old-project",
			},
			headers: map[string]string{"x-api-key": "ls-legacy-key", "Langsmith-Project": "old-project"},
		},
		{
			name: "no project", path: "/otel/v1/traces",
			env:     map[string]string{otelspans.EnvLangSmithAPIKey: "lsv2_pt_key"},
			headers: map[string]string{"x-api-key": "lsv2_pt_key", "Langsmith-Project": ""},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t)
			endpointVar := otelspans.EnvLangSmithEndpoint
			if strings.HasPrefix(tc.name, "legacy") {
				endpointVar = otelspans.EnvLangChainEndpoint
			}
			env := map[string]string{endpointVar: r.srv.URL + tc.suffix, otelspans.EnvServiceName: "svc-langsmith"}
			for k, v := range tc.env {
				env[k] = v
			}
			clearEnv(t, env)
			rc := sendRun(t, otelspans.LangSmith())
			assertDelivered(t, r, rc, tc.path, "svc-langsmith", tc.headers)
		})
	}
}

func TestOpik(t *testing.T) {
	t.Run("key, workspace, project", func(t *testing.T) {
		r := newReceiver(t)
		clearEnv(t, map[string]string{
			otelspans.EnvOpikURLOverride: r.srv.URL + "/api/",
			otelspans.EnvOpikAPIKey:      "opik-key-1",
			otelspans.EnvOpikWorkspace:   "team-a",
			otelspans.EnvOpikProjectName: "Flow Project",
		})
		rc := sendRun(t, otelspans.Opik(), otelspans.WithServiceName("svc-opik"))
		assertDelivered(t, r, rc, "/api/v1/private/otel/v1/traces", "svc-opik", map[string]string{
			"Authorization":   "opik-key-1",
			"Comet-Workspace": "team-a",
			"projectName":     "Flow Project",
		})
	})
	t.Run("self-hosted needs no key", func(t *testing.T) {
		r := newReceiver(t)
		clearEnv(t, map[string]string{otelspans.EnvOpikURLOverride: r.srv.URL + "/api"})
		rc := sendRun(t, otelspans.Opik(), otelspans.WithServiceName("svc-opik"))
		assertDelivered(t, r, rc, "/api/v1/private/otel/v1/traces", "svc-opik", map[string]string{
			"Authorization": "", "Comet-Workspace": "", "projectName": "",
		})
	})
}

// A preset reads the environment when NewOTLP applies it, not when the
// Option is made.
func TestPresetReadsTheEnvironmentInNewOTLP(t *testing.T) {
	clearEnv(t, nil)
	opt := otelspans.LangSmith()
	r := newReceiver(t)
	t.Setenv(otelspans.EnvLangSmithAPIKey, "late-key")
	t.Setenv(otelspans.EnvLangSmithEndpoint, r.srv.URL)
	t.Setenv(otelspans.EnvServiceName, "svc")
	rc := sendRun(t, opt)
	assertDelivered(t, r, rc, "/otel/v1/traces", "svc", map[string]string{"x-api-key": "late-key"})
}

// Options after a preset win; the preset's headers win over the standard
// variables', whatever the case of their names.
func TestPresetPrecedence(t *testing.T) {
	r := newReceiver(t)
	clearEnv(t, map[string]string{
		otelspans.EnvLangfusePublicKey: "pk",
		otelspans.EnvLangfuseSecretKey: "sk",
		otelspans.EnvLangfuseBaseURL:   "cloud.langfuse.com", // malformed, but replaced below
		otelspans.EnvEndpoint:          "http://127.0.0.1:1", // the preset's endpoint wins
		otelspans.EnvHeaders:           "authorization=Basic%20stale,x-langfuse-ingestion-version=3,x-team=ai",
		otelspans.EnvServiceName:       "svc",
	})
	rc := sendRun(t,
		otelspans.Langfuse(),
		otelspans.WithEndpointURL(r.srv.URL+"/custom/v1/traces"),
		otelspans.WithHeaders(map[string]string{"x-team": "llm"}),
	)
	assertDelivered(t, r, rc, "/custom/v1/traces", "svc", map[string]string{
		"Authorization":                basic("pk", "sk"),
		"x-langfuse-ingestion-version": "4",
		"x-team":                       "llm",
	})

	r2 := newReceiver(t)
	t.Setenv(otelspans.EnvLangfuseBaseURL, r2.srv.URL)
	rc = sendRun(t, otelspans.Langfuse(), otelspans.WithHeaders(map[string]string{"AUTHORIZATION": "Bearer mine"}))
	assertDelivered(t, r2, rc, "/api/public/otel/v1/traces", "svc", map[string]string{"Authorization": "Bearer mine"})
}

func TestPresetRefusesBadConfiguration(t *testing.T) {
	const secret = "sk-secret"
	langfuseKeys := map[string]string{otelspans.EnvLangfusePublicKey: "pk-" + secret, otelspans.EnvLangfuseSecretKey: secret}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := make(map[string]string)
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		preset otelspans.Option
		env    map[string]string
		wantIn []string
	}{
		{"Langfuse without keys", otelspans.Langfuse(), nil,
			[]string{otelspans.EnvLangfusePublicKey, otelspans.EnvLangfuseSecretKey}},
		{"Langfuse without public key", otelspans.Langfuse(),
			map[string]string{otelspans.EnvLangfuseSecretKey: secret}, []string{otelspans.EnvLangfusePublicKey}},
		{"Langfuse without secret key", otelspans.Langfuse(),
			map[string]string{otelspans.EnvLangfusePublicKey: "pk-" + secret}, []string{otelspans.EnvLangfuseSecretKey}},
		{"Langfuse key with a line break", otelspans.Langfuse(),
			with(langfuseKeys, otelspans.EnvLangfuseSecretKey, secret+"\r\nX-Evil: 1"), []string{otelspans.EnvLangfuseSecretKey}},
		{"Langfuse base URL with a password, unparsable", otelspans.Langfuse(),
			with(langfuseKeys, otelspans.EnvLangfuseBaseURL, "https://user:"+secret+"@[::1"), []string{otelspans.EnvLangfuseBaseURL}},
		{"Langfuse base URL with a password, wrong scheme", otelspans.Langfuse(),
			with(langfuseKeys, otelspans.EnvLangfuseBaseURL, "ftp://user:"+secret+"@host"), []string{otelspans.EnvLangfuseBaseURL}},
		{"Langfuse host without scheme", otelspans.Langfuse(),
			with(langfuseKeys, otelspans.EnvLangfuseHost, "cloud.langfuse.com"), []string{otelspans.EnvLangfuseHost}},
		{"Phoenix endpoint without scheme", otelspans.Phoenix(),
			map[string]string{otelspans.EnvPhoenixCollectorEndpoint: "localhost:6006", otelspans.EnvPhoenixAPIKey: secret},
			[]string{otelspans.EnvPhoenixCollectorEndpoint}},
		{"Phoenix endpoint without host", otelspans.Phoenix(),
			map[string]string{otelspans.EnvPhoenixCollectorEndpoint: "http://"}, []string{otelspans.EnvPhoenixCollectorEndpoint}},
		{"Phoenix gRPC port", otelspans.Phoenix(),
			map[string]string{otelspans.EnvPhoenixCollectorEndpoint: "http://localhost:4317", otelspans.EnvPhoenixAPIKey: secret},
			[]string{otelspans.EnvPhoenixCollectorEndpoint, "4317"}},
		{"Phoenix gRPC port from PHOENIX_GRPC_PORT", otelspans.Phoenix(),
			map[string]string{otelspans.EnvPhoenixCollectorEndpoint: "http://phoenix:9000/", otelspans.EnvPhoenixGRPCPort: "9000"},
			[]string{otelspans.EnvPhoenixCollectorEndpoint, "9000"}},
		{"Phoenix client headers", otelspans.Phoenix(),
			map[string]string{otelspans.EnvPhoenixClientHeaders: "api_key" + secret, otelspans.EnvPhoenixAPIKey: secret},
			[]string{otelspans.EnvPhoenixClientHeaders}},
		{"Phoenix key with a line break", otelspans.Phoenix(),
			map[string]string{otelspans.EnvPhoenixAPIKey: secret + "\nx"}, []string{otelspans.EnvPhoenixAPIKey}},
		{"LangSmith without key", otelspans.LangSmith(), nil,
			[]string{otelspans.EnvLangSmithAPIKey, otelspans.EnvLangChainAPIKey}},
		{"LangSmith endpoint scheme", otelspans.LangSmith(),
			map[string]string{otelspans.EnvLangSmithAPIKey: secret, otelspans.EnvLangSmithEndpoint: "ftp://api.smith.langchain.com"},
			[]string{otelspans.EnvLangSmithEndpoint}},
		{"LangSmith legacy endpoint", otelspans.LangSmith(),
			map[string]string{otelspans.EnvLangChainAPIKey: secret, otelspans.EnvLangChainEndpoint: "http://"},
			[]string{otelspans.EnvLangChainEndpoint}},
		{"LangSmith legacy key with a line break", otelspans.LangSmith(),
			map[string]string{otelspans.EnvLangChainAPIKey: secret + "\nx"}, []string{otelspans.EnvLangChainAPIKey}},
		{"Opik Cloud by default, without key", otelspans.Opik(), nil, []string{otelspans.EnvOpikAPIKey}},
		{"Opik Cloud URL, without key", otelspans.Opik(),
			map[string]string{otelspans.EnvOpikURLOverride: "https://www.comet.com/opik/api/"}, []string{otelspans.EnvOpikAPIKey}},
		{"Opik URL", otelspans.Opik(),
			map[string]string{otelspans.EnvOpikURLOverride: "http//localhost:5173/api", otelspans.EnvOpikAPIKey: secret},
			[]string{otelspans.EnvOpikURLOverride}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t, tc.env)
			e, err := otelspans.NewOTLP(context.Background(), tc.preset)
			require.Error(t, err)
			assert.Nil(t, e, "no exporter, so nothing is sent and no goroutine runs")
			for _, name := range tc.wantIn {
				assert.Contains(t, err.Error(), name, "the error names the variable")
			}
			assert.NotContains(t, err.Error(), secret, "the error never prints a key")
		})
	}
}
