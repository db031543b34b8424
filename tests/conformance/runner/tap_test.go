package main

import (
	"strings"
	"testing"
)

func TestJudge(t *testing.T) {
	cases := []struct {
		name       string
		program    string
		stdout     string
		exitCode   int
		timedOut   bool
		want       verdict
		wantDetail string
		wantOK     int
	}{
		{
			name:    "all ok",
			program: "create",
			stdout:  "TAP version 13\nok 1 - a\nok 2 - b\n  ---\n  {\n    \"reference\": \"x\"\n  }\n  ...\n1..2\n",
			want:    verdictPass, wantOK: 2,
		},
		{
			name:       "one not ok",
			program:    "delete",
			stdout:     "TAP version 13\nok 1 - a\nnot ok 2 - must fail\n  ---\n  {\n    \"error\": \"boom\"\n  }\n  ...\n1..2\n",
			want:       verdictFail,
			wantDetail: "not ok 2 - must fail",
			wantOK:     1,
		},
		{
			name:       "hook error block with empty plan",
			program:    "hooks",
			stdout:     "TAP version 13\n  ---\n  {\n    \"error\": \"Hooks MUST be called in the listed order\\nRefer to: x\"\n  }\n  ...\n1..0\n",
			want:       verdictFail,
			wantDetail: "error: Hooks MUST be called in the listed order",
		},
		{
			name:    "hook program with empty plan and no block",
			program: "prestart_fail",
			stdout:  "TAP version 13\n1..0\n",
			want:    verdictPass,
		},
		{
			name:    "silent _fail program",
			program: "process_rlimits_fail",
			stdout:  "",
			want:    verdictPass,
		},
		{
			name:       "silent _fail program that exits non-zero",
			program:    "process_rlimits_fail",
			exitCode:   1,
			want:       verdictFail,
			wantDetail: "no TAP plan",
		},
		{
			name:       "silent normal program",
			program:    "linux_uid_mappings",
			exitCode:   1,
			want:       verdictFail,
			wantDetail: "no TAP plan",
		},
		{
			name:       "header only, bailed out before plan",
			program:    "prestart_fail",
			stdout:     "TAP version 13\n",
			want:       verdictFail,
			wantDetail: "no TAP plan",
		},
		{
			name:       "fewer tests than planned",
			program:    "state",
			stdout:     "TAP version 13\n1..3\nok 1 - a\n",
			want:       verdictFail,
			wantDetail: "ran 1 of 3 planned tests",
			wantOK:     1,
		},
		{
			name:       "all ok but fatal exit",
			program:    "process_capabilities_fail",
			stdout:     "TAP version 13\nok 1 - a\n1..1\n",
			exitCode:   1,
			want:       verdictFail,
			wantDetail: "exit status 1",
			wantOK:     1,
		},
		{
			name:       "timeout",
			program:    "kill",
			stdout:     "TAP version 13\nok 1 - a\n",
			timedOut:   true,
			exitCode:   -1,
			want:       verdictFail,
			wantDetail: "timed out",
			wantOK:     1,
		},
		{
			name:       "skipped suite",
			program:    "linux_seccomp",
			stdout:     "TAP version 13\n1..1\nok 1 # skip no seccomp here\n",
			want:       verdictSkip,
			wantDetail: "ok 1 # skip no seccomp here",
			wantOK:     1,
		},
		{
			name:    "todo failure does not fail",
			program: "process",
			stdout:  "TAP version 13\nok 1 - a\nnot ok 2 - b # TODO later\n1..2\n",
			want:    verdictPass, wantOK: 2,
		},
		{
			name:       "not ok without description or number",
			program:    "mounts",
			stdout:     "TAP version 13\nnot ok\n1..1\n",
			want:       verdictFail,
			wantDetail: "not ok",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := execution{stdout: []byte(tc.stdout), exitCode: tc.exitCode, timedOut: tc.timedOut}
			report := parseTAP(run.stdout)
			got, detail := judge(tc.program, run, report)
			if got != tc.want {
				t.Errorf("verdict = %s (%q), want %s", got, detail, tc.want)
			}
			if !strings.HasPrefix(detail, tc.wantDetail) {
				t.Errorf("detail = %q, want prefix %q", detail, tc.wantDetail)
			}
			if report.ok != tc.wantOK {
				t.Errorf("ok count = %d, want %d", report.ok, tc.wantOK)
			}
		})
	}
}

func TestParseTAPIgnoresYAMLThatLooksLikeTests(t *testing.T) {
	stdout := "TAP version 13\nok 1 - a\n  ---\n  not ok 7 - inside a block\n  1..9\n  ...\n1..1\n"
	report := parseTAP([]byte(stdout))
	if report.notOK != 0 || report.planned != 1 || report.ok != 1 {
		t.Fatalf("report = %+v, want 1 ok, plan 1", report)
	}
}

func TestParseTAPIgnoresIndentedTestLines(t *testing.T) {
	report := parseTAP([]byte("TAP version 13\n    not ok 1 - nested\nok 1 - top\n1..1\n"))
	if report.notOK != 0 || report.ok != 1 {
		t.Fatalf("report = %+v, want only the top-level ok", report)
	}
}

func TestProgramCategory(t *testing.T) {
	for name, want := range map[string]category{
		"linux_cgroups_relative_pids":  catCgroups,
		"delete_only_create_resources": catCgroups,
		"killsig":                      catKill,
		"poststop_fail":                catHooks,
		"linux_mount_label":            catOther,
		"some_future_program":          catOther,
	} {
		if got := programCategory(name); got != want {
			t.Errorf("programCategory(%q) = %s, want %s", name, got, want)
		}
	}
	if createsCgroups("linux_ns_path") {
		t.Error("linux_ns_path must run by default")
	}
}
