package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// hearthVersion is the release this source tree is. It is a constant, raised
// by hand at each release; the module and VCS details of a particular build
// come from the build information the Go toolchain embeds.
const hearthVersion = "0.1.0-dev"

func runVersion(_ context.Context, e *env, args []string) int {
	if len(args) != 0 {
		fmt.Fprintln(e.stderr, "hearth version: takes no arguments")
		return exitUsage
	}
	fmt.Fprintf(e.stdout, "hearth %s (%s, %s/%s)\n", hearthVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				fmt.Fprintf(e.stdout, "revision %s\n", s.Value)
			}
		}
	}
	return exitOK
}
