package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"time"

	"github.com/hearthnet/hearth/api/client"
)

// `hearth ui` asks the running daemon for a new one-time login link to its
// web UI (POST /api/v1/login-link, which only the API token opens) and
// prints it; with --open it also hands the link to the desktop's opener.
// It is the way into the web UI of a daemon that runs as a service (whose
// standard output, where `hearth up` prints its first link, goes nowhere)
// or whose first link has expired.

// openerWait is how long `hearth ui --open` waits for the opener to say
// whether it managed. xdg-open and open return as soon as the browser has
// the link; one that takes longer is left to finish on its own.
const openerWait = 5 * time.Second

// openers are the programs `hearth ui --open` tries, in order, on this
// operating system. On Linux and the BSDs "open" is another program
// (openvt), so only macOS uses it.
func openers() []string {
	if runtime.GOOS == "darwin" {
		return []string{"open"}
	}
	return []string{"xdg-open"}
}

func runUI(ctx context.Context, r *cliRun) error {
	c, err := r.connect(ctx)
	if err != nil {
		return err
	}
	link, err := c.LoginLink(ctx)
	if err := r.call(ctx, err); err != nil {
		return err
	}
	err = r.out(link, func(w io.Writer) {
		fmt.Fprintf(w, "Open Hearth in your browser with this link. It works once, until %s:\n\n    %s\n\nRun 'hearth ui%s' again for another.\n",
			link.Expires.Local().Format("15:04"), link.URL, r.homeFlag)
	})
	if err != nil || !r.opts.open {
		return err
	}
	// Opening is a convenience: whatever happens, the link is printed and
	// the command succeeds.
	if note := openLink(ctx, link); note != "" {
		fmt.Fprintln(r.e.stderr, note)
	}
	return nil
}

// openLink hands link to the first opener found on PATH and returns a
// note for the member when none is there or it failed ("" when it
// worked). The link is an argument of the opener's command line for the
// moment it runs; docs/RUNNING.md says what that means on a shared machine.
func openLink(ctx context.Context, link client.LoginLink) string {
	for _, name := range openers() {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		cmd := exec.Command(path, link.URL)
		if err := cmd.Start(); err != nil {
			return fmt.Sprintf("Could not start %s (%v); open the link above yourself.", name, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Sprintf("%s could not open the link (%v); open it yourself.", name, err)
			}
			return "Opened it in your browser."
		case <-time.After(openerWait):
			return "Asked " + name + " to open it in your browser."
		case <-ctx.Done():
			return "Interrupted; open the link above yourself."
		}
	}
	return fmt.Sprintf("There is no %s here to open a browser with; open the link above yourself.", openers()[0])
}
