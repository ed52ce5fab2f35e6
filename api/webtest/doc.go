// Package webtest holds the end-to-end tests of Hearth's web UI: they
// build the hearth binary, start two real daemons on loopback, and drive
// Debian's headless Chromium through the UI with chromedp. The package has
// no code of its own besides the tests; they skip when /usr/bin/chromium is
// missing (.ci/run installs it).
package webtest
