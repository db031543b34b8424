package nsenter

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
)

// TestExecPlanLayout checks the payload byte by byte against the layout
// in doc.go (which plan.c decodes), written out independently here.
func TestExecPlanLayout(t *testing.T) {
	root, fifo, console := os.Stdin, os.Stdout, os.Stderr // any three files
	umask := uint32(0o027)
	p := &ExecPlan{
		Root: root, Fifo: fifo, Console: console,
		HasProcess: true, NoNewPrivileges: true,
		SessionKeyring: "_ses.c1",
		UID:            1000, GID: 1001,
		AdditionalGids: []uint32{10, 20, 30},
		Umask:          &umask,
		Caps:           CapSets{Bounding: 1, Effective: 2, Permitted: 3, Inheritable: 4, Ambient: 1 << 40},
		LastCap:        40,
		Rlimits:        []Rlimit{{Type: 7, Soft: 123, Hard: 1 << 33}},
		Cwd:            "/work",
		Args:           []string{"sh", "-c", "true"},
		Env:            []string{"PATH=/bin", "A="},
		PreservedFDs:   2,
	}
	payload, files, err := p.encode()
	if err != nil {
		t.Fatal(err)
	}
	ne := binary.NativeEndian
	var want []byte
	for _, v := range []uint32{0b11111, 1000, 1001, 0o027, 40, 2, 3, 1, 3, 2} {
		want = ne.AppendUint32(want, v)
	}
	for _, v := range []uint64{1, 2, 3, 4, 1 << 40} {
		want = ne.AppendUint64(want, v)
	}
	for _, g := range []uint32{10, 20, 30} {
		want = ne.AppendUint32(want, g)
	}
	want = ne.AppendUint32(want, 7)
	want = ne.AppendUint32(want, 0)
	want = ne.AppendUint64(want, 123)
	want = ne.AppendUint64(want, 1<<33)
	want = append(want, "_ses.c1\x00/work\x00sh\x00-c\x00true\x00PATH=/bin\x00A=\x00"...)
	if !bytes.Equal(payload, want) {
		t.Errorf("payload\n got %q\nwant %q", payload, want)
	}
	if len(files) != 3 || files[0] != root || files[1] != fifo || files[2] != console {
		t.Errorf("files %v, want root, fifo, console", files)
	}

	// The optional parts off: flags clear, no console fd, umask 0.
	p = &ExecPlan{Root: root, Fifo: fifo, LastCap: 40}
	payload, files, err = p.encode()
	if err != nil {
		t.Fatal(err)
	}
	if flags := ne.Uint32(payload); flags != 0 || len(files) != 2 {
		t.Errorf("minimal plan: flags %#b, %d files; want 0 and 2", flags, len(files))
	}
	if !bytes.HasSuffix(payload, []byte("\x00\x00")) || len(payload) != 80+2 {
		t.Errorf("minimal plan payload %q: want the 80-byte header and two empty strings", payload)
	}
}

func TestExecPlanRefusesBadPlans(t *testing.T) {
	base := func() *ExecPlan {
		return &ExecPlan{Root: os.Stdin, Fifo: os.Stdout, HasProcess: true, Args: []string{"true"}, LastCap: 40}
	}
	for _, tc := range []struct {
		name   string
		change func(*ExecPlan)
		want   string
	}{
		{"no root", func(p *ExecPlan) { p.Root = nil }, "Root and Fifo are required"},
		{"no fifo", func(p *ExecPlan) { p.Fifo = nil }, "Root and Fifo are required"},
		{"process without args", func(p *ExecPlan) { p.Args = nil }, "a process needs Args"},
		{"last cap too high", func(p *ExecPlan) { p.LastCap = 64 }, "not in 0..63"},
		{"negative preserved fds", func(p *ExecPlan) { p.PreservedFDs = -1 }, "preserved fds"},
		{"negative rlimit type", func(p *ExecPlan) { p.Rlimits = []Rlimit{{Type: -1}} }, "rlimit type -1"},
		{"NUL in an arg", func(p *ExecPlan) { p.Args = []string{"a\x00b"} }, "NUL"},
		{"NUL in env", func(p *ExecPlan) { p.Env = []string{"A=\x00"} }, "NUL"},
		{"over the limit", func(p *ExecPlan) { p.Env = []string{strings.Repeat("x", maxFramePayload)} }, "over the limit"},
	} {
		p := base()
		tc.change(p)
		if _, _, err := p.encode(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: encode error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// An environment of a few MB is what execve allows; the plan must carry it.
func TestExecPlanCarriesLargeEnvironment(t *testing.T) {
	p := &ExecPlan{Root: os.Stdin, Fifo: os.Stdout, Env: []string{strings.Repeat("x", 3<<20)}}
	if _, _, err := p.encode(); err != nil {
		t.Errorf("a plan with a 3 MiB environment: %v", err)
	}
}
