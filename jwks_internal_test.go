package jwtguard

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCacheTTL(t *testing.T) {
	const lo, hi = time.Minute, time.Hour
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{name: "none", header: http.Header{}, want: DefaultJWKSTTL},
		{name: "max-age", header: http.Header{"Cache-Control": {"public, max-age=600"}}, want: 10 * time.Minute},
		{name: "case and quotes", header: http.Header{"Cache-Control": {`Max-Age="600"`}}, want: 10 * time.Minute},
		{name: "below the bound", header: http.Header{"Cache-Control": {"max-age=15, stale-while-revalidate=15"}}, want: lo},
		{name: "above the bound", header: http.Header{"Cache-Control": {"max-age=86400"}}, want: hi},
		{name: "huge", header: http.Header{"Cache-Control": {"max-age=99999999999999999999"}}, want: DefaultJWKSTTL},
		{name: "with Age", header: http.Header{"Cache-Control": {"max-age=1200"}, "Age": {"600"}}, want: 10 * time.Minute},
		{name: "Age beyond max-age", header: http.Header{"Cache-Control": {"max-age=1200"}, "Age": {"6000"}}, want: lo},
		{name: "no-cache", header: http.Header{"Cache-Control": {"no-cache"}}, want: lo},
		{name: "no-store wins over max-age", header: http.Header{"Cache-Control": {"no-store, max-age=600"}}, want: lo},
		{name: "negative", header: http.Header{"Cache-Control": {"max-age=-5"}}, want: DefaultJWKSTTL},
		{name: "two headers", header: http.Header{"Cache-Control": {"public", "max-age=900"}}, want: 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, cacheTTL(tt.header, lo, hi))
		})
	}
}
