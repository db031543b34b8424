package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseExpectations(t *testing.T) {
	text := `# comment
kill        PASS
hooks       FAIL   test bug: the expected string
   lacks    FLAKY  indented lines and  extra   spaces are fine

linux_cgroups_pids SKIP creates cgroups
`
	got, err := parseExpectations(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parseExpectations: %v", err)
	}
	want := map[string]expectation{
		"kill":               {program: "kill", want: expectPass, line: 2},
		"hooks":              {program: "hooks", want: expectFail, reason: "test bug: the expected string", line: 3},
		"lacks":              {program: "lacks", want: expectFlaky, reason: "indented lines and extra spaces are fine", line: 4},
		"linux_cgroups_pids": {program: "linux_cgroups_pids", want: expectSkip, reason: "creates cgroups", line: 6},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d expectations, want %d: %+v", len(got), len(want), got)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %+v, want %+v", name, got[name], w)
		}
	}
}

func TestParseExpectationsRejects(t *testing.T) {
	for name, tc := range map[string]struct{ text, wantErr string }{
		"unknown result":     {"kill OK\n", `result "OK" of kill is not PASS`},
		"lower-case result":  {"kill pass\n", "is not PASS"},
		"program only":       {"kill\n", "line 1: want `PROGRAM RESULT reason`"},
		"fail without why":   {"kill PASS\nhooks FAIL\n", "line 2: hooks FAIL needs a reason"},
		"flaky without why":  {"poststart FLAKY\n", "poststart FLAKY needs a reason"},
		"duplicate":          {"kill PASS\n\nkill FAIL why\n", "line 3: kill is already listed on line 1"},
		"empty":              {"# nothing\n\n", "no expectations"},
		"skip without a why": {"linux_cgroups_pids SKIP", "needs a reason"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseExpectations(strings.NewReader(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestCheckResultsOutcomes(t *testing.T) {
	expected := expectations{
		"pass":  {program: "pass", want: expectPass, line: 1},
		"fail":  {program: "fail", want: expectFail, reason: "test bug", line: 2},
		"flaky": {program: "flaky", want: expectFlaky, reason: "races", line: 3},
		"skip":  {program: "skip", want: expectSkip, reason: "cgroups", line: 4},
	}
	cases := []struct {
		program string
		got     verdict
		notRun  bool
		want    checkOutcome
	}{
		{"pass", verdictPass, false, outcomeAsExpected},
		{"pass", verdictFail, false, outcomeRegression},
		{"pass", verdictSkip, false, outcomeUnexpected},
		{"pass", verdictFail, true, outcomeUnexpected},
		{"fail", verdictFail, false, outcomeKnownFail},
		{"fail", verdictPass, false, outcomeNowPasses},
		{"fail", verdictSkip, false, outcomeUnexpected},
		{"fail", verdictFail, true, outcomeUnexpected},
		{"flaky", verdictPass, false, outcomeFlaky},
		{"flaky", verdictFail, false, outcomeFlaky},
		{"flaky", verdictSkip, false, outcomeUnexpected},
		{"skip", verdictSkip, false, outcomeAsExpected},
		{"skip", verdictPass, false, outcomeNotJudged},
		{"skip", verdictFail, false, outcomeNotJudged},
		{"unlisted", verdictPass, false, outcomeUnexpected},
	}
	for _, tc := range cases {
		row := judgeAgainst(expected, result{name: tc.program, verdict: tc.got, notRun: tc.notRun, detail: "x"})
		if row.outcome != tc.want {
			t.Errorf("%s got %s (notRun %v): outcome %q, want %q (note %q)", tc.program, tc.got, tc.notRun, row.outcome, tc.want, row.note)
		}
	}
}

func TestCheckReportFailsOnlyOnRegressionsAndUnexpected(t *testing.T) {
	expected := expectations{
		"kill":      {program: "kill", want: expectPass, line: 1},
		"hooks":     {program: "hooks", want: expectFail, reason: "test bug", line: 2},
		"start":     {program: "start", want: expectFail, reason: "inverted assertion", line: 3},
		"poststart": {program: "poststart", want: expectFlaky, reason: "races", line: 4},
		"gone":      {program: "gone", want: expectPass, line: 5},
	}
	all := regexp.MustCompile("")
	green := []result{
		{name: "hooks", verdict: verdictFail},
		{name: "kill", verdict: verdictPass},
		{name: "poststart", verdict: verdictFail},
		{name: "start", verdict: verdictPass},
	}
	// "gone" is not selected by this pattern, so its absence is fine.
	report := checkResults(expected, green, regexp.MustCompile("^(hooks|kill|poststart|start)$"))
	if report.failed() {
		t.Fatalf("a known failure, a fixed program and a flaky one failed the check: %+v", report.rows)
	}
	var out bytes.Buffer
	report.print(&out, "expected.txt")
	for _, want := range []string{
		"now passes    start", "update line 3 of the expectations",
		"flaky         poststart", "known failure hooks",
		"check ok: 1 as expected, 0 REGRESSION, 0 UNEXPECTED, 1 now passes, 1 flaky, 1 known failure",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}

	// With every program selected, the missing "gone" fails the check.
	report = checkResults(expected, green, all)
	if !report.failed() {
		t.Fatal("an expected program that was not built passed the check")
	}

	regressed := append([]result{}, green...)
	regressed[1] = result{name: "kill", verdict: verdictFail, detail: "not ok 3 - signal"}
	report = checkResults(expected, regressed, regexp.MustCompile("^(hooks|kill|poststart|start)$"))
	if !report.failed() {
		t.Fatal("a PASS program that failed did not fail the check")
	}
	out.Reset()
	report.print(&out, "expected.txt")
	if !strings.Contains(out.String(), "REGRESSION    kill") || !strings.Contains(out.String(), "not ok 3 - signal") ||
		!strings.Contains(out.String(), "check FAILED") {
		t.Errorf("report does not name the regression:\n%s", out.String())
	}
}

// TestRunWithCheck runs the real runner loop on stand-in validation
// programs (shell scripts printing TAP) and a stand-in runtime, then checks
// the results against an expectations file.
func TestRunWithCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the runner unshares a mount namespace for each program: needs root")
	}
	binDir := t.TempDir()
	programs := map[string]string{
		"kill":      "echo 'TAP version 13'; echo 'ok 1 - signal'; echo '1..1'",
		"hooks":     "echo 'TAP version 13'; echo 'not ok 1 - order'; echo '1..1'",
		"start":     "echo 'TAP version 13'; echo 'ok 1 - fixed'; echo '1..1'",
		"poststart": "echo 'TAP version 13'; echo 'not ok 1 - race'; echo '1..1'",
		"state":     "echo 'TAP version 13'; echo 'not ok 1 - broken'; echo '1..1'",
	}
	if err := os.Mkdir(filepath.Join(binDir, "validation"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range programs {
		writeExecutable(t, filepath.Join(binDir, "validation", name), "#!/bin/sh\n"+body+"\n")
	}
	for _, file := range []string{"runtimetest", "rootfs-amd64.tar.gz"} {
		writeExecutable(t, filepath.Join(binDir, file), "stand-in\n")
	}
	runtime := filepath.Join(binDir, "fake-runtime")
	writeExecutable(t, runtime, "#!/bin/sh\nexit 0\n")
	expectedPath := filepath.Join(t.TempDir(), "expected.txt")
	expectedText := "kill PASS\nhooks FAIL test bug\nstart FAIL inverted\npoststart FLAKY races\nstate PASS\n"
	if err := os.WriteFile(expectedPath, []byte(expectedText), 0o644); err != nil {
		t.Fatal(err)
	}

	opts, err := parseFlags([]string{"-runtime", runtime, "-bin", binDir, "-logs", t.TempDir(),
		"-timeout", "30s", "-j", "2", "-check", expectedPath})
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	results, err := run(ctx, opts, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	report := checkResults(opts.expected, results, opts.pattern)
	report.print(&out, expectedPath)
	outcomes := map[string]checkOutcome{}
	for _, row := range report.rows {
		outcomes[row.program] = row.outcome
	}
	want := map[string]checkOutcome{
		"kill": outcomeAsExpected, "hooks": outcomeKnownFail, "start": outcomeNowPasses,
		"poststart": outcomeFlaky, "state": outcomeRegression,
	}
	for name, w := range want {
		if outcomes[name] != w {
			t.Errorf("%s: outcome %q, want %q", name, outcomes[name], w)
		}
	}
	if !report.failed() {
		t.Errorf("the check passed despite the regression in state:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "2 passed, 3 failed, 0 skipped") {
		t.Errorf("summary line missing:\n%s", out.String())
	}
}

func TestParseFlagsRejectsBadExpectationsEarly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "expected.txt")
	if err := os.WriteFile(path, []byte("kill MAYBE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := parseFlags([]string{"-runtime", "/bin/true", "-bin", t.TempDir(), "-check", path})
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v, want the bad line reported before any program runs", err)
	}
	_, err = parseFlags([]string{"-runtime", "/bin/true", "-check", filepath.Join(t.TempDir(), "missing.txt")})
	if err == nil || !strings.Contains(err.Error(), "open expectations") {
		t.Fatalf("err = %v, want a missing expectations file reported", err)
	}
}

func writeExecutable(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}
