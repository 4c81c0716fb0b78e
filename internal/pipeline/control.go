package pipeline

type ctrlItem[O, E any] struct {
	rl     *runLane[O, E]
	end    bool
	target uint64
}

func (l *lane[O, E]) control(it ctrlItem[O, E]) {
	l.ctrlMu.Lock()
	l.ctrl = append(l.ctrl, it)
	l.ctrlN.Add(1)
	l.ctrlMu.Unlock()
	if l.sleeping.Load() {
		l.signal()
	}
}

func (l *lane[O, E]) popControl() (ctrlItem[O, E], bool) {
	l.ctrlMu.Lock()
	defer l.ctrlMu.Unlock()
	if l.ctrlHead == len(l.ctrl) {
		return ctrlItem[O, E]{}, false
	}
	it := l.ctrl[l.ctrlHead]
	l.ctrl[l.ctrlHead] = ctrlItem[O, E]{}
	l.ctrlHead++
	if l.ctrlHead == len(l.ctrl) {
		l.ctrl, l.ctrlHead = l.ctrl[:0], 0
	}
	l.ctrlN.Add(-1)
	return it, true
}

func (l *lane[O, E]) doControl(g *generation[O, E]) bool {
	for {
		it, ok := l.popControl()
		if !ok {
			return true
		}
		rl := it.rl
		if !it.end {
			if !l.open(g, rl) {
				return false
			}
			continue
		}
		rl.ending, rl.target = true, it.target
		if rl.processed == rl.target && !l.finish(g, rl) {
			return false
		}
	}
}
