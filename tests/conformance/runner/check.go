package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// The -check mode turns the suite into a regression gate: expected.txt
// records, for every program, the result husk is known to get and why, and
// the run fails only when a result departs from it in a way that matters.
// Known failures (test bugs, spec conflicts, machine limits) then stop
// hiding new ones behind a permanently red "N failed" line.

// expectedResult is the result expected.txt records for one program.
type expectedResult string

const (
	expectPass expectedResult = "PASS"
	// expectFail: a known failure; the program may also pass, which the
	// check reports so that expected.txt gets updated, without failing.
	expectFail expectedResult = "FAIL"
	// expectFlaky: the program's outcome depends on timing, so PASS and
	// FAIL are both accepted.
	expectFlaky expectedResult = "FLAKY"
	// expectSkip: the runner skips the program by default (it creates
	// cgroups). When it does run (-all) its result is reported, not judged.
	expectSkip expectedResult = "SKIP"
)

// expectation is one line of expected.txt.
type expectation struct {
	program string
	want    expectedResult
	reason  string
	line    int
}

// expectations maps a program name to its line in expected.txt.
type expectations map[string]expectation

func loadExpectations(path string) (expectations, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open expectations: %w", err)
	}
	defer file.Close()
	expected, err := parseExpectations(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return expected, nil
}

// parseExpectations reads lines of the form
//
//	PROGRAM  PASS|FAIL|FLAKY|SKIP  reason...
//
// Blank lines and lines starting with # are ignored. Every result other
// than PASS needs a reason: the file is where a known failure is explained.
func parseExpectations(r io.Reader) (expectations, error) {
	expected := expectations{}
	scanner := bufio.NewScanner(r)
	for lineNo := 1; scanner.Scan(); lineNo++ {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return nil, fmt.Errorf("line %d: want `PROGRAM RESULT reason`, got %q", lineNo, line)
		}
		exp := expectation{
			program: fields[0],
			want:    expectedResult(fields[1]),
			reason:  strings.Join(fields[2:], " "),
			line:    lineNo,
		}
		switch exp.want {
		case expectPass:
		case expectFail, expectFlaky, expectSkip:
			if exp.reason == "" {
				return nil, fmt.Errorf("line %d: %s %s needs a reason", lineNo, exp.program, exp.want)
			}
		default:
			return nil, fmt.Errorf("line %d: result %q of %s is not PASS, FAIL, FLAKY or SKIP", lineNo, fields[1], exp.program)
		}
		if previous, dup := expected[exp.program]; dup {
			return nil, fmt.Errorf("line %d: %s is already listed on line %d", lineNo, exp.program, previous.line)
		}
		expected[exp.program] = exp
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read expectations: %w", err)
	}
	if len(expected) == 0 {
		return nil, fmt.Errorf("no expectations in the file")
	}
	return expected, nil
}

// checkOutcome classifies one program's result against its expectation.
type checkOutcome string

const (
	outcomeAsExpected checkOutcome = "as expected"
	outcomeKnownFail  checkOutcome = "known failure"
	outcomeFlaky      checkOutcome = "flaky"
	outcomeNotJudged  checkOutcome = "not judged"
	outcomeNowPasses  checkOutcome = "now passes"
	outcomeRegression checkOutcome = "REGRESSION"
	outcomeUnexpected checkOutcome = "UNEXPECTED"
)

// fails reports whether the outcome must fail the check.
func (o checkOutcome) fails() bool {
	return o == outcomeRegression || o == outcomeUnexpected
}

type checkRow struct {
	program string
	got     verdict
	outcome checkOutcome
	note    string // why, for anything but a plain match
}

// checkReport is the comparison of one run with expected.txt.
type checkReport struct {
	rows []checkRow
}

// checkResults compares a run with the expectations. Expectations for
// programs the -run pattern left out are ignored; one that the pattern
// selects but that does not exist (a renamed or dropped program) fails the
// check, as does a program with no expectation.
func checkResults(expected expectations, results []result, pattern *regexp.Regexp) checkReport {
	var report checkReport
	seen := map[string]bool{}
	for _, res := range results {
		seen[res.name] = true
		report.rows = append(report.rows, judgeAgainst(expected, res))
	}
	for name, exp := range expected {
		if seen[name] || !pattern.MatchString(name) {
			continue
		}
		report.rows = append(report.rows, checkRow{
			program: name,
			outcome: outcomeUnexpected,
			note:    fmt.Sprintf("listed on line %d of the expectations but no such program was built", exp.line),
		})
	}
	sort.Slice(report.rows, func(i, j int) bool { return report.rows[i].program < report.rows[j].program })
	return report
}

func judgeAgainst(expected expectations, res result) checkRow {
	row := checkRow{program: res.name, got: res.verdict}
	exp, ok := expected[res.name]
	switch {
	case !ok:
		row.outcome = outcomeUnexpected
		row.note = fmt.Sprintf("got %s but the program has no line in the expectations; add one", res.verdict)
	case res.notRun:
		row.outcome = outcomeUnexpected
		row.note = "not run: " + res.detail
	case exp.want == expectSkip:
		row.outcome, row.note = outcomeAsExpected, exp.reason
		if res.verdict != verdictSkip {
			row.outcome = outcomeNotJudged
			row.note = fmt.Sprintf("ran (skipped by default) and got %s %s", res.verdict, res.detail)
		}
	case res.verdict == verdictSkip:
		row.outcome = outcomeUnexpected
		row.note = fmt.Sprintf("expected %s, got SKIP: %s", exp.want, res.detail)
	case exp.want == expectFlaky:
		row.outcome = outcomeFlaky
		row.note = fmt.Sprintf("got %s; either result is accepted: %s", res.verdict, exp.reason)
	case exp.want == expectPass && res.verdict == verdictPass:
		row.outcome = outcomeAsExpected
	case exp.want == expectPass:
		row.outcome = outcomeRegression
		row.note = "expected PASS, got FAIL: " + res.detail
	case res.verdict == verdictFail:
		row.outcome = outcomeKnownFail
		row.note = exp.reason
	default:
		row.outcome = outcomeNowPasses
		row.note = fmt.Sprintf("expected FAIL, got PASS; update line %d of the expectations", exp.line)
	}
	return row
}

// failed reports whether any row fails the check.
func (r checkReport) failed() bool {
	for _, row := range r.rows {
		if row.outcome.fails() {
			return true
		}
	}
	return false
}

// print writes every row that is not a plain match, worst first, then a
// one-line count of each outcome.
func (r checkReport) print(out io.Writer, source string) {
	fmt.Fprintf(out, "\ncheck against %s:\n", source)
	order := []checkOutcome{outcomeRegression, outcomeUnexpected, outcomeNowPasses, outcomeFlaky, outcomeNotJudged, outcomeKnownFail}
	counts := map[checkOutcome]int{}
	for _, row := range r.rows {
		counts[row.outcome]++
	}
	for _, outcome := range order {
		for _, row := range r.rows {
			if row.outcome != outcome {
				continue
			}
			note := strings.Join(strings.Fields(row.note), " ")
			if len(note) > 140 {
				note = note[:137] + "..."
			}
			fmt.Fprintf(out, "  %-13s %-32s %s\n", row.outcome, row.program, note)
		}
	}
	var summary []string
	for _, outcome := range append([]checkOutcome{outcomeAsExpected}, order...) {
		if counts[outcome] > 0 || outcome.fails() {
			summary = append(summary, fmt.Sprintf("%d %s", counts[outcome], outcome))
		}
	}
	verdict := "ok"
	if r.failed() {
		verdict = "FAILED"
	}
	fmt.Fprintf(out, "check %s: %s\n", verdict, strings.Join(summary, ", "))
}
