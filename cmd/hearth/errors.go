package main

import (
	"errors"
	"fmt"
	"strings"
)

// usageError is an error in what the person gave hearth: a flag, an
// environment variable or a key in config.toml. Commands that fail with one
// exit with exitUsage; every other error exits with exitError.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a *usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode returns the exit code a command that failed with err ends with.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var u *usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitError
}

// fail prints err as the one line "hearth <cmd>: <err>" on stderr and
// returns the exit code that goes with it.
func fail(e *env, cmd string, err error) int {
	fmt.Fprintf(e.stderr, "hearth %s: %v\n", cmd, err)
	return exitCode(err)
}

// oneLine joins the non-nil errors in errs into one error whose message is
// a single line (errors.Join would put each on its own line), or returns
// nil when there are none. The result wraps every one of them.
func oneLine(errs ...error) error {
	var kept []error
	var msgs []string
	for _, err := range errs {
		if err != nil {
			kept = append(kept, err)
			msgs = append(msgs, err.Error())
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &joinedError{msg: strings.Join(msgs, "; "), errs: kept}
}

type joinedError struct {
	msg  string
	errs []error
}

func (e *joinedError) Error() string   { return e.msg }
func (e *joinedError) Unwrap() []error { return e.errs }
