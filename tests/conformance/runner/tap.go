package main

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
)

// tapReport is what one validation program's TAP 13 stdout says.
// The programs use github.com/mndrix/tap-go, whose YAML blocks Perl's prove
// rejects, so we read the stream ourselves instead of relying on a TAP tool.
type tapReport struct {
	hasPlan    bool
	planned    int
	planSkip   bool // "1..0 # SKIP reason": the whole program skipped itself
	ok         int  // "ok" lines, including skips and TODOs
	notOK      int  // "not ok" lines that are not TODO
	skipped    int  // "ok ... # SKIP" lines
	firstNotOK string
	firstSkip  string
	// yamlLines holds the diagnostic YAML lines outside any block that
	// follows a passing test. A hook test with "1..0" uses such a block to
	// report its failure instead of a "not ok" line.
	yamlLines []string
	readErr   error // the output could not be read to its end
}

var (
	planLine = regexp.MustCompile(`^1\.\.(\d+)\s*(#.*)?$`)
	testLine = regexp.MustCompile(`^(not )?ok\b\s*(\d+)?\s*-?\s*(.*)$`)
	errorKey = regexp.MustCompile(`^"?error"?\s*:\s*(.*)$`)
)

func parseTAP(stdout []byte) tapReport {
	var report tapReport
	inYAML := false
	yamlAfterPass := false
	scanner := bufio.NewScanner(bytes.NewReader(stdout))
	// runtimetest's whole output can arrive as one JSON line in a block.
	scanner.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for scanner.Scan() {
		// Test and plan lines start at column 0: indented text is never one.
		line := strings.TrimRight(scanner.Text(), " \t\r")
		trimmed := strings.TrimSpace(line)
		if inYAML {
			if trimmed == "..." {
				inYAML = false
				continue
			}
			if !yamlAfterPass {
				report.yamlLines = append(report.yamlLines, trimmed)
			}
			continue
		}
		if strings.HasPrefix(line, " ") && trimmed == "---" {
			inYAML = true
			continue
		}
		if m := planLine.FindStringSubmatch(line); m != nil {
			report.hasPlan = true
			report.planned, _ = strconv.Atoi(m[1])
			report.planSkip = report.planned == 0 && hasDirective(m[2], "skip")
			if report.planSkip {
				report.firstSkip = line
			}
			continue
		}
		m := testLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		description := m[3]
		passed := m[1] == ""
		_, directive, _ := strings.Cut(description, "#")
		switch {
		case passed:
			report.ok++
			if hasDirective("#"+directive, "skip") {
				report.skipped++
				if report.firstSkip == "" {
					report.firstSkip = line
				}
			}
			yamlAfterPass = true
		case hasDirective("#"+directive, "todo"):
			// A failing TODO test is expected to fail: TAP counts it as ok.
			report.ok++
			yamlAfterPass = true
		default:
			report.notOK++
			if report.firstNotOK == "" {
				report.firstNotOK = line
			}
			yamlAfterPass = false
		}
	}
	report.readErr = scanner.Err()
	return report
}

// hasDirective reports whether a TAP "# DIRECTIVE ..." comment names the
// directive (SKIP, TODO), case-insensitively.
func hasDirective(comment, directive string) bool {
	comment = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(comment), "#"))
	return len(comment) >= len(directive) && strings.EqualFold(comment[:len(directive)], directive)
}

// total is the number of tests the program reported.
func (r tapReport) total() int { return r.ok + r.notOK }

// firstDiagnostic returns the most telling diagnostic line: the first line
// of its "error" value if there is one, else its first line. tap-go writes
// the diagnostic as JSON inside the YAML block, so both forms are read.
func (r tapReport) firstDiagnostic() string {
	for _, line := range r.yamlLines {
		match := errorKey.FindStringSubmatch(line)
		if match == nil {
			continue
		}
		value := strings.TrimSuffix(strings.TrimSpace(match[1]), ",")
		if unquoted, err := strconv.Unquote(value); err == nil {
			value = unquoted
		}
		first, _, _ := strings.Cut(value, "\n")
		first, _, _ = strings.Cut(first, `\n`) // an escaped newline in an unquotable value
		return "error: " + strings.TrimSpace(first)
	}
	for _, line := range r.yamlLines {
		if line != "{" && line != "}" && line != "" {
			return line
		}
	}
	return ""
}

type verdict string

const (
	verdictPass verdict = "PASS"
	verdictFail verdict = "FAIL"
	verdictSkip verdict = "SKIP"
)

// execution is how one program's process ended.
type execution struct {
	stdout   []byte
	stderr   []byte
	exitCode int // -1 when killed by a signal or not started
	timedOut bool
	startErr error
}

// judge turns a program's TAP report and exit into a verdict and the line
// that explains a failure. The order matters: the first reason found is the
// one a reader needs.
func judge(name string, run execution, report tapReport) (verdict, string) {
	switch {
	case run.startErr != nil:
		return verdictFail, "could not start: " + run.startErr.Error()
	case run.timedOut:
		return verdictFail, "timed out; last output: " + lastLine(run.stdout)
	case report.readErr != nil:
		return verdictFail, "read TAP output: " + report.readErr.Error()
	case report.notOK > 0:
		return verdictFail, report.firstNotOK
	case strings.HasSuffix(name, "_fail") && len(bytes.TrimSpace(run.stdout)) == 0 && run.exitCode == 0:
		// Programs such as process_rlimits_fail print nothing at all when the
		// runtime rightly refused the config, and call Fatal when it did not.
		return verdictPass, ""
	case !report.hasPlan:
		// A program that bails out before its plan (for example when it
		// cannot prepare its bundle) must not look like a silent *_fail pass.
		return verdictFail, "no TAP plan; " + exitSummary(run)
	case report.planned == 0 && len(report.yamlLines) > 0:
		// Hook and *_fail programs report a runtime that misbehaved as
		// "1..0" plus an error block.
		return verdictFail, report.firstDiagnostic()
	case report.total() != report.planned:
		return verdictFail, "ran " + strconv.Itoa(report.total()) + " of " +
			strconv.Itoa(report.planned) + " planned tests; " + exitSummary(run)
	case run.exitCode != 0:
		return verdictFail, exitSummary(run)
	case report.planSkip || (report.total() > 0 && report.skipped == report.total()):
		return verdictSkip, report.firstSkip
	}
	return verdictPass, ""
}

func exitSummary(run execution) string {
	summary := "exit status " + strconv.Itoa(run.exitCode)
	if run.exitCode == -1 {
		summary = "killed by a signal"
	}
	if line := firstLine(run.stderr); line != "" {
		summary += ": " + line
	}
	return summary
}

func firstLine(text []byte) string {
	for _, line := range strings.Split(string(text), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

func lastLine(text []byte) string {
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
