// Package ftmcp carries flowtrace runs across the Model Context Protocol,
// with the official Go SDK (github.com/modelcontextprotocol/go-sdk): an
// agent's run and the runs of the tool servers it calls form one trace,
// over stdio as over HTTP.
package ftmcp
