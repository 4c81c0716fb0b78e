package otelspans

import (
	"encoding/base64"
	"net/url"
	"os"
	"strings"
)

// Environment variables the presets read, spelled as each backend's own
// SDKs spell them, so that a service already configured for a backend's
// Python or TypeScript SDK needs nothing new. An empty or blank value counts
// as unset.
const (
	// Langfuse (langfuse Python SDK, langfuse/_client/environment_variables.py).
	EnvLangfusePublicKey = "LANGFUSE_PUBLIC_KEY"
	EnvLangfuseSecretKey = "LANGFUSE_SECRET_KEY"
	EnvLangfuseBaseURL   = "LANGFUSE_BASE_URL"
	EnvLangfuseHost      = "LANGFUSE_HOST" // deprecated by Langfuse for LANGFUSE_BASE_URL, still read

	// Arize Phoenix (arize-phoenix-otel, @arizeai/phoenix-otel).
	EnvPhoenixCollectorEndpoint = "PHOENIX_COLLECTOR_ENDPOINT"
	EnvPhoenixAPIKey            = "PHOENIX_API_KEY"
	EnvPhoenixProject           = "PHOENIX_PROJECT"
	EnvPhoenixProjectName       = "PHOENIX_PROJECT_NAME" // alias of PHOENIX_PROJECT, which wins
	EnvPhoenixClientHeaders     = "PHOENIX_CLIENT_HEADERS"
	EnvPhoenixGRPCPort          = "PHOENIX_GRPC_PORT" // only to refuse an endpoint on it

	// LangSmith (langsmith SDKs; the LANGCHAIN_ names are the legacy ones).
	EnvLangSmithAPIKey   = "LANGSMITH_API_KEY"
	EnvLangSmithEndpoint = "LANGSMITH_ENDPOINT"
	EnvLangSmithProject  = "LANGSMITH_PROJECT"
	EnvLangChainAPIKey   = "LANGCHAIN_API_KEY"
	EnvLangChainEndpoint = "LANGCHAIN_ENDPOINT"
	EnvLangChainProject  = "LANGCHAIN_PROJECT"

	// Opik (opik Python SDK, opik/config.py: the OPIK_ prefix of its settings).
	EnvOpikURLOverride = "OPIK_URL_OVERRIDE"
	EnvOpikAPIKey      = "OPIK_API_KEY"
	EnvOpikWorkspace   = "OPIK_WORKSPACE"
	EnvOpikProjectName = "OPIK_PROJECT_NAME"
)

// Where the presets send traces when their variables name no host: each
// backend's hosted service, except Phoenix, which its SDKs expect on the
// local machine.
const (
	DefaultLangfuseBaseURL   = "https://cloud.langfuse.com"
	DefaultPhoenixEndpoint   = "http://localhost:6006"
	DefaultLangSmithEndpoint = "https://api.smith.langchain.com"
	DefaultOpikURL           = "https://www.comet.com/opik/api"
)

// Langfuse returns an Option that makes NewOTLP send traces to Langfuse, as
// Langfuse's own SDKs do. When NewOTLP applies it, it reads:
//
//   - LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (both required): sent as
//     "Authorization: Basic base64(public:secret)";
//   - LANGFUSE_BASE_URL, else the deprecated LANGFUSE_HOST, else
//     https://cloud.langfuse.com (the EU region; the US one is
//     https://us.cloud.langfuse.com): traces go to
//     {base}/api/public/otel/v1/traces.
//
// It also sends "x-langfuse-ingestion-version: 4", which Langfuse asks of
// direct OpenTelemetry exporters so that traces appear without delay. The
// project is the one the keys belong to.
//
// A missing key, a key with control characters, or a malformed URL makes
// NewOTLP fail with an error naming the variable, never its value. Options
// after Langfuse() win: WithEndpointURL replaces the endpoint, WithHeaders
// a header.
func Langfuse() Option {
	return func(c *config) {
		pk := c.requiredEnv(EnvLangfusePublicKey, "Langfuse")
		sk := c.requiredEnv(EnvLangfuseSecretKey, "Langfuse")
		base, from := firstEnv(DefaultLangfuseBaseURL, EnvLangfuseBaseURL, EnvLangfuseHost)
		c.presetEndpoint(base, from, "api/public/otel/v1/traces")
		if pk != "" && sk != "" {
			c.setHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(pk+":"+sk)))
		}
		c.setHeader("x-langfuse-ingestion-version", "4")
	}
}

// Phoenix returns an Option that makes NewOTLP send traces to Arize
// Phoenix, as Phoenix's own OpenTelemetry packages (arize-phoenix-otel,
// @arizeai/phoenix-otel) do over HTTP. When NewOTLP applies it, it reads:
//
//   - PHOENIX_COLLECTOR_ENDPOINT, default http://localhost:6006: traces go
//     to {endpoint}/v1/traces. Its path is kept (Phoenix Cloud's
//     https://app.phoenix.arize.com/s/{space}, a proxy's prefix), and a path
//     that already ends in /v1/traces is used as it is;
//   - PHOENIX_API_KEY (optional; needed by Phoenix Cloud and by a Phoenix
//     with authentication on): sent as "Authorization: Bearer {key}";
//   - PHOENIX_CLIENT_HEADERS (optional): more headers, "k1=v1,k2=v2" with
//     percent-encoded values, as OTEL_EXPORTER_OTLP_HEADERS; Phoenix Cloud
//     instances created before June 24, 2025 need "api_key={key}" here;
//   - PHOENIX_PROJECT, else its alias PHOENIX_PROJECT_NAME (optional): the
//     resource attribute openinference.project.name, which names the
//     Phoenix project; without it Phoenix uses its default project.
//
// A malformed endpoint or header list makes NewOTLP fail with an error
// naming the variable, never a key; so does an endpoint with no path on
// Phoenix's gRPC port (PHOENIX_GRPC_PORT, default 4317), which Phoenix's
// SDKs would reach over gRPC and NewOTLP cannot. Options after Phoenix()
// win.
func Phoenix() Option {
	return func(c *config) {
		raw, from := firstEnv(DefaultPhoenixEndpoint, EnvPhoenixCollectorEndpoint)
		if u, err := parseEndpoint(raw, from); err != nil {
			c.endpoint, c.endpointVar = raw, from // reported by NewOTLP unless replaced
		} else if strings.Trim(u.Path, "/") == "" && u.Port() == phoenixGRPCPort() {
			// Phoenix's SDKs take this for its gRPC receiver; an HTTP export
			// there would fail on every batch, long after NewOTLP returned.
			c.fail("%s names port %s, Phoenix's OTLP/gRPC port; NewOTLP sends OTLP/HTTP: use Phoenix's HTTP port (6006 by default)",
				from, u.Port())
		} else {
			if !strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/v1/traces") {
				u = u.JoinPath("v1", "traces")
			}
			c.endpoint, c.endpointVar = u.String(), from
		}
		if list := os.Getenv(EnvPhoenixClientHeaders); strings.TrimSpace(list) != "" {
			h := make(map[string]string)
			if err := parseHeaders(list, h); err != nil {
				c.fail("%s: %v", EnvPhoenixClientHeaders, err)
			}
			for k, v := range h {
				c.setHeader(k, v)
			}
		}
		if key := c.optionalEnv(EnvPhoenixAPIKey); key != "" {
			c.setHeader("Authorization", "Bearer "+key)
		}
		if project, _ := firstEnv("", EnvPhoenixProject, EnvPhoenixProjectName); project != "" {
			c.setResource(KeyOIProjectName, project)
		}
	}
}

// LangSmith returns an Option that makes NewOTLP send traces to LangSmith,
// as the LangSmith SDKs' OpenTelemetry exporters do. When NewOTLP applies
// it, it reads (each LANGSMITH_ name first, then its legacy LANGCHAIN_
// one):
//
//   - LANGSMITH_API_KEY or LANGCHAIN_API_KEY (required): sent as
//     "x-api-key";
//   - LANGSMITH_ENDPOINT or LANGCHAIN_ENDPOINT, default
//     https://api.smith.langchain.com (EU: https://eu.api.smith.langchain.com;
//     self-hosted: https://{host}/api/v1): traces go to
//     {endpoint}/otel/v1/traces;
//   - LANGSMITH_PROJECT or LANGCHAIN_PROJECT (optional): sent as
//     "Langsmith-Project"; without it LangSmith uses its "default" project.
//
// A missing key or a malformed endpoint makes NewOTLP fail with an error
// naming the variable, never the key. Options after LangSmith() win.
func LangSmith() Option {
	return func(c *config) {
		key, keyVar := firstEnv("", EnvLangSmithAPIKey, EnvLangChainAPIKey)
		switch {
		case key == "":
			c.fail("LangSmith: %s (or %s) is not set", EnvLangSmithAPIKey, EnvLangChainAPIKey)
		case !validHeaderValue(key):
			c.fail("LangSmith: %s has control characters", keyVar)
		default:
			c.setHeader("x-api-key", key)
		}
		base, from := firstEnv(DefaultLangSmithEndpoint, EnvLangSmithEndpoint, EnvLangChainEndpoint)
		c.presetEndpoint(base, from, "otel/v1/traces")
		if project, projectVar := firstEnv("", EnvLangSmithProject, EnvLangChainProject); project != "" {
			if validHeaderValue(project) {
				c.setHeader("Langsmith-Project", project)
			} else {
				c.fail("LangSmith: %s has control characters", projectVar)
			}
		}
	}
}

// Opik returns an Option that makes NewOTLP send traces to Opik, with the
// settings Opik's own SDK reads. When NewOTLP applies it, it reads:
//
//   - OPIK_URL_OVERRIDE, default https://www.comet.com/opik/api (Opik
//     Cloud; a local Opik is http://localhost:5173/api): traces go to
//     {url}/v1/private/otel/v1/traces;
//   - OPIK_API_KEY: sent as "Authorization: {key}"; required for Opik
//     Cloud (www.comet.com), optional for a self-hosted Opik;
//   - OPIK_WORKSPACE (optional; Opik Cloud files traces in the workspace
//     it names): sent as "Comet-Workspace";
//   - OPIK_PROJECT_NAME (optional; without it Opik uses its default
//     project): sent as "projectName".
//
// A missing key or a malformed URL makes NewOTLP fail with an error
// naming the variable, never the key. Options after Opik() win.
func Opik() Option {
	return func(c *config) {
		raw, from := firstEnv(DefaultOpikURL, EnvOpikURLOverride)
		c.presetEndpoint(raw, from, "v1/private/otel/v1/traces")
		key := c.optionalEnv(EnvOpikAPIKey)
		if key == "" && isOpikCloud(raw) {
			c.fail("Opik: %s is not set; Opik Cloud (%s) needs it", EnvOpikAPIKey, DefaultOpikURL)
		}
		if key != "" {
			c.setHeader("Authorization", key)
		}
		if ws := c.optionalEnv(EnvOpikWorkspace); ws != "" {
			c.setHeader("Comet-Workspace", ws)
		}
		if project := c.optionalEnv(EnvOpikProjectName); project != "" {
			c.setHeader("projectName", project)
		}
	}
}

// phoenixGRPCPort returns the port of Phoenix's OTLP/gRPC receiver:
// PHOENIX_GRPC_PORT, default 4317, as Phoenix's SDKs read it.
func phoenixGRPCPort() string {
	if p := strings.TrimSpace(os.Getenv(EnvPhoenixGRPCPort)); p != "" {
		return p
	}
	return "4317"
}

// isOpikCloud reports whether raw names Opik Cloud, where the API key is
// required.
func isOpikCloud(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return h == "www.comet.com" || h == "comet.com"
}

// presetEndpoint sets the traces endpoint to base with path added. A
// malformed base is kept as it is, and NewOTLP reports it against from,
// unless a later option replaces the endpoint.
func (c *config) presetEndpoint(base, from, path string) {
	u, err := parseEndpoint(base, from)
	if err != nil {
		c.endpoint, c.endpointVar = base, from
		return
	}
	c.endpoint, c.endpointVar = u.JoinPath(path).String(), from
}

// firstEnv returns the value of the first of names that is set and not
// blank, and that name; else def and names[0], the variable that would
// have set it.
func firstEnv(def string, names ...string) (value, name string) {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v, n
		}
	}
	return def, names[0]
}

// requiredEnv returns the value of name, recording an error naming it
// when it is unset or cannot be sent in a header.
func (c *config) requiredEnv(name, backend string) string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		c.fail("%s: %s is not set", backend, name)
		return ""
	}
	if !validHeaderValue(v) {
		c.fail("%s: %s has control characters", backend, name)
		return ""
	}
	return v
}

// optionalEnv returns the value of name, or "" when it is unset; a value
// that cannot be sent in a header is an error naming the variable.
func (c *config) optionalEnv(name string) string {
	v := strings.TrimSpace(os.Getenv(name))
	if v != "" && !validHeaderValue(v) {
		c.fail("%s has control characters", name)
		return ""
	}
	return v
}

// validHeaderValue reports whether v can be sent as an HTTP header value.
// net/http would refuse it on every export otherwise, long after NewOTLP
// returned.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
