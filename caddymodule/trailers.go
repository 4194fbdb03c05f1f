package caddymodule

import (
	"io"
	"net/http"
)

// stripTrailers keeps the prefix out of the request's trailers, which a
// proxy forwards after the body: the announced names now, and at the end of
// the body the ones that arrive unannounced (Go merges every trailer it
// reads into the map of announced ones, which the proxied request shares).
// A request that announced none has no map for them to reach the upstream
// through.
func (u upstreamHeaders) stripTrailers(r *http.Request) {
	if r.Trailer == nil {
		return
	}
	u.strip(r.Trailer)
	r.Body = &trailerStripper{ReadCloser: r.Body, headers: u, trailer: r.Trailer}
}

// trailerStripper strips the trailers once the body has been read to its
// end, before the reader of the body sees the end and sends them on.
type trailerStripper struct {
	io.ReadCloser
	headers upstreamHeaders
	trailer http.Header
}

func (t *trailerStripper) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if err == io.EOF {
		t.headers.strip(t.trailer)
	}
	return n, err
}
