package libcontainer

import "testing"

func TestParseIDRange(t *testing.T) {
	for _, tc := range []struct {
		line string
		want idRange
		ok   bool
	}{
		{"         0          0 4294967295", idRange{0, 0, 4294967295}, true},
		{"0 100000 65536", idRange{0, 100000, 65536}, true},
		{"\t1\t2\t3\t", idRange{1, 2, 3}, true},
		{"0 100000", idRange{}, false},
		{"0 100000 65536 7", idRange{}, false},
		{"0 -1 65536", idRange{}, false},
		{"0 0x10 1", idRange{}, false},
		{"0 0 18446744073709551616", idRange{}, false},
	} {
		got, ok := parseIDRange(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseIDRange(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
