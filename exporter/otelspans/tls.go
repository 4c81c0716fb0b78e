package otelspans

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// TLS variables NewOTLP reads, as the OpenTelemetry specification defines
// them (the traces-specific one wins).
const (
	EnvCertificate             = "OTEL_EXPORTER_OTLP_CERTIFICATE"
	EnvTracesCertificate       = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"
	EnvClientCertificate       = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
	EnvTracesClientCertificate = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE"
	EnvClientKey               = "OTEL_EXPORTER_OTLP_CLIENT_KEY"
	EnvTracesClientKey         = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY"
)

// envFirst returns the first variable of names that is set, and its name.
func envFirst(names ...string) (string, string) {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v, n
		}
	}
	return "", ""
}

// newTransport returns the HTTP transport of one NewOTLP exporter: its own,
// so that Shutdown can close its idle connections (the SDK's default
// transport is shared by the process and keeps them for 90 s), with the
// proxy and TLS settings the environment gives.
func newTransport() (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	var cfg *tls.Config
	if file, name := envFirst(EnvTracesCertificate, EnvCertificate); file != "" {
		pem, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("otelspans: %s: %w", name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("otelspans: %s: %s holds no PEM certificate", name, file)
		}
		cfg = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	certFile, certVar := envFirst(EnvTracesClientCertificate, EnvClientCertificate)
	keyFile, keyVar := envFirst(EnvTracesClientKey, EnvClientKey)
	switch {
	case certFile != "" && keyFile != "":
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("otelspans: %s and %s: %w", certVar, keyVar, err)
		}
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		cfg.Certificates = []tls.Certificate{pair}
	case certFile != "":
		return nil, fmt.Errorf("otelspans: %s is set but %s is not", certVar, EnvClientKey)
	case keyFile != "":
		return nil, fmt.Errorf("otelspans: %s is set but %s is not", keyVar, EnvClientCertificate)
	}
	if cfg != nil {
		t.TLSClientConfig = cfg
	}
	return t, nil
}
