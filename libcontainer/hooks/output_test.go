package hooks

import (
	"strings"
	"testing"
)

func TestTailBufferKeepsTheEnd(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"empty", nil, ""},
		{"short, trimmed", []string{"  hello\n", "world \n"}, "hello\nworld"},
		{"exactly the limit", []string{strings.Repeat("a", outputLimit)}, strings.Repeat("a", outputLimit)},
		{"one big write", []string{strings.Repeat("a", outputLimit) + "END"}, "..." + strings.Repeat("a", outputLimit-3) + "END"},
		{"many small writes", []string{strings.Repeat("b", outputLimit-1), "cc", "END"}, "..." + strings.Repeat("b", outputLimit-5) + "ccEND"},
		{"invalid UTF-8", []string{"bad \xff byte"}, "bad \uFFFD byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf tailBuffer
			for _, w := range tt.writes {
				if n, err := buf.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(w))
				}
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("String() = %.60q (len %d), want %.60q (len %d)", got, len(got), tt.want, len(tt.want))
			}
			if len(buf.buf) > outputLimit {
				t.Errorf("kept %d bytes, limit is %d", len(buf.buf), outputLimit)
			}
		})
	}
}
