package libcontainer

import (
	"reflect"
	"testing"
)

func TestDedupEnvLastWins(t *testing.T) {
	got := dedupEnv([]string{"A=1", "B=2", "A=3", "LISTEN_FDS=9", "C", "LISTEN_FDS=2"})
	want := []string{"A=3", "B=2", "LISTEN_FDS=2", "C"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("dedupEnv = %q, want %q", got, want)
	}
}
