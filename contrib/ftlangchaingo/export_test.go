package ftlangchaingo

// OpenStreams counts the streams h still keeps: the per-call state the
// library has no place for (see the package doc), freed at each end.
func OpenStreams(h *Handler) int {
	n := 0
	h.streams.Range(func(any, any) bool { n++; return true })
	return n
}
