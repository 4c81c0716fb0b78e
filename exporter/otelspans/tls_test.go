package otelspans_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

func TestNewOTLPTrustsTheCertificateTheEnvironmentNames(t *testing.T) {
	clearOTelEnv(t)
	r := &receiver{}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw}), 0o600))

	t.Setenv(otelspans.EnvTracesEndpoint, r.srv.URL+"/v1/traces")
	e, err := otelspans.NewOTLP(context.Background(), otelspans.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	recordRunExpectingExportError(t, e)
	assert.Empty(t, r.all(), "without the certificate, the server is not trusted")

	t.Setenv(otelspans.EnvCertificate, caFile)
	e, err = otelspans.NewOTLP(context.Background())
	require.NoError(t, err)
	recordRun(t, e, flowtrace.RunInfo{RunName: "over-tls"})
	require.NotEmpty(t, r.all(), "with OTEL_EXPORTER_OTLP_CERTIFICATE, spans arrive over TLS")

	for name, env := range map[string][2]string{
		"missing file":     {otelspans.EnvCertificate, filepath.Join(t.TempDir(), "nope.pem")},
		"not PEM":          {otelspans.EnvTracesCertificate, writeFile(t, "junk")},
		"cert without key": {otelspans.EnvClientCertificate, caFile},
	} {
		t.Run(name, func(t *testing.T) {
			clearOTelEnv(t)
			t.Setenv(otelspans.EnvCertificate, "")
			t.Setenv(otelspans.EnvTracesCertificate, "")
			t.Setenv(otelspans.EnvClientCertificate, "")
			t.Setenv(env[0], env[1])
			_, err := otelspans.NewOTLP(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), env[0])
		})
	}
}

func writeFile(t *testing.T, content string) string {
	f := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(f, []byte(content), 0o600))
	return f
}

// recordRunExpectingExportError records a run whose export fails.
func recordRunExpectingExportError(t *testing.T, exp flowtrace.Exporter) {
	t.Helper()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	require.ErrorIs(t, svc.Shutdown(deadline(t)), otelspans.ErrExport)
}
