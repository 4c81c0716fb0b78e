package otelspans_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// Markers around every secret the tests below put in an endpoint or a
// header: a leak of any part of the secret, cut at a '/', '#' or '?' by the
// URL parser, shows at least one of them.
const (
	secretHead = "Kq9"
	secretTail = "Zw7"
	secretUser = "alice"
)

// endpointTemplates put a secret where users put one: in the password
// (with or without a scheme), in the user name, in the query.
var endpointTemplates = []string{
	"http://" + secretUser + ":%s@127.0.0.1:4318/v1/traces",
	"https://" + secretUser + ":%s@collector.example:4318",
	secretUser + ":%s@127.0.0.1:4318",
	"http://127.0.0.1:4318/v1/traces?api_key=%s",
	"127.0.0.1:4318/v1/traces?api_key=%s",
	"http://%s@127.0.0.1:4318/v1/traces",
	"ftp://" + secretUser + ":%s@127.0.0.1/v1/traces?x=%s",
	"http://" + secretUser + ":%s@/v1/traces",
	"http://[::1" + ":%s@",
}

// assertNoSecret fails unless text holds no part of a secret built by
// secretOf, nor the user name.
func assertNoSecret(t testing.TB, what, text string) {
	t.Helper()
	for _, m := range []string{secretHead, secretTail, secretUser} {
		if strings.Contains(strings.ToLower(text), strings.ToLower(m)) {
			t.Errorf("%s holds %q, part of a secret: %s", what, m, text)
		}
	}
}

func secretOf(middle string) string { return secretHead + middle + secretTail }

// newOTLPWithEndpoint builds a NewOTLP exporter for endpoint, set in turn
// through WithEndpointURL and each environment variable, and returns the
// error texts; an exporter that was built is shut down.
func newOTLPErrors(t testing.TB, endpoint string) []string {
	t.Helper()
	var texts []string
	try := func(opts ...otelspans.Option) {
		e, err := otelspans.NewOTLP(context.Background(), opts...)
		if err != nil {
			texts = append(texts, err.Error())
			return
		}
		require.NoError(t, e.Shutdown(deadline(t)), "nothing was exported")
	}
	try(otelspans.WithEndpointURL(endpoint))
	for _, k := range []string{otelspans.EnvEndpoint, otelspans.EnvTracesEndpoint, otelspans.EnvPhoenixCollectorEndpoint, otelspans.EnvLangfuseBaseURL} {
		t.Setenv(k, endpoint)
		switch k {
		case otelspans.EnvPhoenixCollectorEndpoint:
			try(otelspans.Phoenix())
		case otelspans.EnvLangfuseBaseURL:
			t.Setenv(otelspans.EnvLangfusePublicKey, "pk")
			t.Setenv(otelspans.EnvLangfuseSecretKey, "sk")
			try(otelspans.Langfuse())
		default:
			try()
		}
		t.Setenv(k, "")
	}
	return texts
}

// TestNewOTLPErrorsHoldNoSecret: whatever the endpoint looks like, an error
// of NewOTLP names the variable or option at fault and prints no user
// info, query or part of either.
func TestNewOTLPErrorsHoldNoSecret(t *testing.T) {
	for _, secret := range []string{"pa#ss", "pa/ss", "pa?ss", "pa%zzss", "pa ss", "pa@ss", "12/34", "12#34", "12?34", "pass"} {
		for _, tmpl := range endpointTemplates {
			endpoint := strings.ReplaceAll(tmpl, "%s", secretOf(secret))
			t.Run(endpoint, func(t *testing.T) {
				clearOTelEnv(t)
				for _, text := range newOTLPErrors(t, endpoint) {
					assertNoSecret(t, "NewOTLP's error", text)
					assert.Contains(t, text, "otelspans:", "the error says where it comes from")
				}
			})
		}
	}
}

// TestNewOTLPRefusesAnAtOutsideUserInfo: a password holding '/', '?' or
// '#' cuts the URL's authority short; when what is left still parses, the
// rest of the password lands in the path, query or fragment, and would be
// printed in every export error (or sent as a path). An '@' there is
// refused.
func TestNewOTLPRefusesAnAtOutsideUserInfo(t *testing.T) {
	for _, endpoint := range []string{
		"http://alice:1234/Kq9@127.0.0.1:4318/v1/traces",
		"http://alice:1234#Kq9@127.0.0.1:4318",
		"http://alice:1234?Kq9@127.0.0.1:4318",
	} {
		t.Run(endpoint, func(t *testing.T) {
			clearOTelEnv(t)
			e, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(endpoint))
			require.Error(t, err, "the password's tail would be sent in the path, or printed")
			assert.Nil(t, e)
			assert.Contains(t, err.Error(), "WithEndpointURL")
			assertNoSecret(t, "NewOTLP's error", err.Error())
		})
	}
}

// TestNewOTLPExportErrorsHoldNoSecret: an export that fails (nothing
// listens) reports an error that prints neither the endpoint's user info
// nor its query nor a header's value.
func TestNewOTLPExportErrorsHoldNoSecret(t *testing.T) {
	clearOTelEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now

	var mu sync.Mutex
	var reported []string
	endpoint := "http://" + secretUser + ":" + secretOf("pw") + "@" + addr + "/v1/traces?api_key=" + secretOf("q")
	e, err := otelspans.NewOTLP(context.Background(),
		otelspans.WithEndpointURL(endpoint),
		otelspans.WithHeaders(map[string]string{"Authorization": "Bearer " + secretOf("h")}),
		otelspans.WithErrorHandler(func(err error) {
			mu.Lock()
			reported = append(reported, err.Error())
			mu.Unlock()
		}))
	require.NoError(t, err)
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(e))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "r"})
	require.NoError(t, err)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	serr := svc.Shutdown(deadline(t))
	require.ErrorIs(t, serr, otelspans.ErrExport, "the spans that could not be sent are counted")
	assertNoSecret(t, "Shutdown's error", serr.Error())
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, reported, "the failed export was reported")
	for _, text := range reported {
		assertNoSecret(t, "a reported export error", text)
	}
}

// FuzzNewOTLPErrorsHoldNoSecret: no error of NewOTLP prints any part of a
// secret put in an endpoint's user info or query, whatever the secret
// holds.
func FuzzNewOTLPErrorsHoldNoSecret(f *testing.F) {
	for _, s := range []string{"pa#ss", "pa/ss", "pa?ss", "%zz", "p@ss", "12/34", "12#", "[::1]", ":", "", "pa\x00ss", "é/#?@%"} {
		for i := range endpointTemplates {
			f.Add(i, s)
		}
	}
	f.Fuzz(func(t *testing.T, tmpl int, middle string) {
		if tmpl < 0 || tmpl >= len(endpointTemplates) {
			return
		}
		for _, m := range []string{secretHead, secretTail, secretUser} {
			if strings.Contains(strings.ToLower(middle), strings.ToLower(m)) {
				return
			}
		}
		endpoint := strings.ReplaceAll(endpointTemplates[tmpl], "%s", secretOf(middle))
		for _, k := range []string{otelspans.EnvEndpoint, otelspans.EnvTracesEndpoint, otelspans.EnvHeaders, otelspans.EnvTracesHeaders} {
			t.Setenv(k, "")
		}
		e, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(endpoint),
			otelspans.WithHeaders(map[string]string{"Authorization": secretOf(middle)}))
		if err != nil {
			assertNoSecret(t, "NewOTLP's error", err.Error())
			return
		}
		require.NoError(t, e.Shutdown(deadline(t)))
	})
}
