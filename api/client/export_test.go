package client

import "io"

// NewSSEParserForTest exposes the stream parser to the fuzz target.
func NewSSEParserForTest(r io.Reader) interface{ Next() (Event, error) } {
	return parserAdapter{newSSEParser(r)}
}

type parserAdapter struct{ p *sseParser }

func (a parserAdapter) Next() (Event, error) { return a.p.next() }
