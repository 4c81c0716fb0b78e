// Package integration holds flowtrace's end-to-end tests against a real
// Jaeger. It is a module of its own so that Jaeger, built from source as a
// tool of this module (go tool jaeger), never enters the library's
// dependency list.
//
// # Running
//
// From this directory:
//
//	go test ./...
//
// The first run builds Jaeger (a few minutes on two cores); later runs reuse
// the build cache. Every Jaeger the tests start listens on 127.0.0.1 only, on
// ports chosen by the test, and is stopped by the test.
package integration
