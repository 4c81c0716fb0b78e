package ftopenai

// Option configures Middleware.
type Option func(*config)

// config is what Middleware's options set. The zero config records every
// call as it was made and rewrites nothing.
type config struct {
	streamUsage bool
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithStreamUsage asks for token usage on streamed chat completions whose
// request left it out: the middleware sets stream_options.include_usage to
// true in the JSON body of such a request (in a run only; a call made
// outside a run is never rewritten), so that the API sends the usage in a
// last chunk, which has no choices, before [DONE]. Callers that index
// chunk.Choices[0] without checking its length must check it with this
// option. Streams of the Responses API always end with their usage and are
// never rewritten.
func WithStreamUsage() Option {
	return func(c *config) { c.streamUsage = true }
}
