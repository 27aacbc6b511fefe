package cli

import (
	"errors"
	"fmt"
)

// Exit codes shared by every command. They are part of the CLI's contract: scripts and CI
// pipelines branch on them, so they never change meaning.
const (
	// ExitOK means the command did what was asked.
	ExitOK = 0
	// ExitError is a runtime failure: cluster unreachable, API error, I/O error.
	ExitError = 1
	// ExitUsage is bad input: an unknown flag, a wrong argument, an unreadable or invalid file.
	ExitUsage = 2
	// ExitCheckFailed means the check ran and failed: lint findings, SLO breached, canary rolled
	// back or aborted.
	ExitCheckFailed = 3
	// ExitUndecided means no verdict could be reached in time: a canary held past its deadline
	// because there was no data or the metrics backend was down.
	ExitUndecided = 4
)

// exitCodesHelp is appended to every command's help so the table is one `--help` away.
const exitCodesHelp = `
Exit status:
  0  ok
  1  runtime error (cluster unreachable, API error)
  2  usage or invalid input (bad flag, argument or file)
  3  the check ran and failed (lint findings, SLO breached, canary rolled back or aborted)
  4  undecided (canary held past its deadline: no data, or metrics backend down)
`

// exitError carries the exit code a failure maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withExitCode tags err with an exit code; nil stays nil.
func withExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageErrorf reports invalid input (exit 2); the message should name the flag, argument or file.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitError
}
