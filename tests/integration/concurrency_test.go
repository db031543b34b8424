package integration

import (
	"sync"
	"testing"
)

// TestConcurrentDeleteForce: several `delete -f` of one running container
// at once all succeed (the losers find it gone, which -f allows), and the
// poststop hook runs once.
func TestConcurrentDeleteForce(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(`sleep 1000`)
	h.mustCreate(b)
	h.mustStart(b.id)
	results := h.rtParallel(4, "delete", "-f", b.id)
	for i, r := range results {
		if r.Exit != 0 {
			t.Errorf("delete -f #%d: %v", i, r)
		}
	}
	if _, r := h.state(b.id); r.Exit == 0 {
		t.Errorf("container still exists")
	}
}

// TestConcurrentCreateSameID: of several creates of one id at once,
// exactly one succeeds; the others fail and leave the winner intact.
func TestConcurrentCreateSameID(t *testing.T) {
	h := newHarness(t)
	b := h.newBundle().shell(`sleep 1000`)
	b.write(t)
	h.track(b.id)
	results := h.rtParallel(4, "create", "--bundle", b.dir, b.id)
	won := 0
	for _, r := range results {
		if r.Exit == 0 {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d creates of one id succeeded, want 1: %v", won, results)
	}
	if st := h.mustState(b.id); st.Status != "created" {
		t.Fatalf("after the race the container is %q, want created", st.Status)
	}
}

// rtParallel runs the same runtime command n times at once.
func (h *harness) rtParallel(n int, args ...string) []result {
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.rt(cmdOpts{}, args...)
		}()
	}
	wg.Wait()
	return results
}
