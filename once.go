package flowtrace

import "sync/atomic"

// atomicOnce reports true to the first caller of do only.
type atomicOnce struct{ done atomic.Bool }

func (o *atomicOnce) do() bool { return o.done.CompareAndSwap(false, true) }
