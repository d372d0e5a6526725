package jwtguard_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htExtractCase is a row of the extractor tables: what the extractor alone
// returns, and the status the default responses give through Handler.
type htExtractCase struct {
	name       string
	header     http.Header
	query      string
	wantToken  string // "" with wantErr nil: no token
	wantErr    error
	wantStatus int
	wantDesc   string // the error_description of a 400
}

// htRunExtract runs rows against e alone and against a middleware reading
// only e.
func htRunExtract(t *testing.T, e jwtguard.Extractor, tests []htExtractCase) {
	t.Helper()
	h := htNew(t, jwtguard.WithExtractors(e)).Handler(&htEcho{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/"+tt.query, nil)
			r.Header = tt.header.Clone()
			if r.Header == nil {
				r.Header = http.Header{}
			}

			token, err := e.Extract(r)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, token)
			} else {
				assert.NoError(t, err)
				assert.Equal(t, tt.wantToken, token)
			}

			got := htRecord(h, r)
			switch tt.wantStatus {
			case http.StatusOK:
				htAssertResponse(t, got, http.StatusOK, "", "sub=user-1")
			case http.StatusBadRequest:
				require.NotEmpty(t, tt.wantDesc, "a 400 says what is wrong")
				htAssertResponse(t, got, http.StatusBadRequest,
					htChallenge("invalid_request", tt.wantDesc), htBody("invalid_request", tt.wantDesc))
			case http.StatusUnauthorized:
				if tt.wantToken == "" {
					// No token: a bare challenge with no error code.
					htAssertResponse(t, got, http.StatusUnauthorized, htBare, htNoTokenBody)
				} else {
					assert.Equal(t, http.StatusUnauthorized, got.status)
					assert.Contains(t, got.header.Get("WWW-Authenticate"), `error="invalid_token"`)
				}
			default:
				t.Fatalf("row has no wantStatus")
			}
		})
	}
}

func TestAuthorizationHeaderExtractor(t *testing.T) {
	tok := htToken(t, nil)
	auth := func(values ...string) http.Header { return http.Header{"Authorization": values} }
	htRunExtract(t, jwtguard.AuthorizationHeader(), []htExtractCase{
		{name: "Bearer", header: auth("Bearer " + tok), wantToken: tok, wantStatus: 200},
		{name: "lower-case scheme", header: auth("bearer " + tok), wantToken: tok, wantStatus: 200},
		{name: "upper-case scheme", header: auth("BEARER " + tok), wantToken: tok, wantStatus: 200},
		{name: "mixed-case scheme", header: auth("bEaReR " + tok), wantToken: tok, wantStatus: 200},
		{name: "several spaces after the scheme", header: auth("Bearer     " + tok), wantToken: tok, wantStatus: 200},
		{name: "surrounding spaces", header: auth("   Bearer " + tok + "   "), wantToken: tok, wantStatus: 200},
		{name: "surrounding tabs", header: auth("\tBearer " + tok + "\t"), wantToken: tok, wantStatus: 200},
		{name: "Bearer alone", header: auth("Bearer"), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "bearer scheme without a token"},
		{name: "Bearer and spaces", header: auth("Bearer   "), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "bearer scheme without a token"},
		{name: "bearer alone, lower case", header: auth("bearer"), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "bearer scheme without a token"},
		{name: "two Authorization headers", header: auth("Bearer "+tok, "Bearer "+tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "more than one Authorization header"},
		{name: "two Authorization headers, one Basic", header: auth("Basic dXNlcjpwYXNz", "Bearer "+tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "more than one Authorization header"},
		{name: "space inside the token", header: auth("Bearer " + tok[:20] + " " + tok[20:]), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "bearer token contains white space"},
		{name: "tab inside the token", header: auth("Bearer " + tok[:20] + "\t" + tok[20:]), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "bearer token contains white space"},
		{name: "tab after the scheme", header: auth("Bearer\t" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "separate the Bearer scheme from the token with a space, not a tab or another character"},
		{name: "tabs after the scheme", header: auth("Bearer\t\t" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "separate the Bearer scheme from the token with a space, not a tab or another character"},
		{name: "tab after the scheme, lower case", header: auth("bearer\t" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "separate the Bearer scheme from the token with a space, not a tab or another character"},
		{name: "tab then space after the scheme", header: auth("Bearer\t " + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "separate the Bearer scheme from the token with a space, not a tab or another character"},
		{name: "space then tab after the scheme", header: auth("Bearer \t" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "bearer token contains white space"},
		{name: "vertical tab after the scheme", header: auth("Bearer\v" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "separate the Bearer scheme from the token with a space, not a tab or another character"},
		{name: "form feed after the scheme", header: auth("Bearer\f" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "separate the Bearer scheme from the token with a space, not a tab or another character"},
		{name: "no-break space after the scheme", header: auth("Bearer\u00a0" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "separate the Bearer scheme from the token with a space, not a tab or another character"},
		{name: "ideographic space after the scheme", header: auth("Bearer\u3000" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "separate the Bearer scheme from the token with a space, not a tab or another character"},
		{name: "comma after the scheme", header: auth("Bearer," + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "separate the Bearer scheme from the token with a space, not a tab or another character"},
		{name: "tab and nothing else after the scheme", header: auth("Bearer\t"), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "bearer scheme without a token"},
		{name: "trailing tab after the token", header: auth("Bearer " + tok + "\t"), wantToken: tok, wantStatus: 200},
		{name: "Basic", header: auth("Basic dXNlcjpwYXNz"), wantStatus: 401},
		{name: "Digest", header: auth(`Digest username="u", realm="r"`), wantStatus: 401},
		{name: "DPoP", header: auth("DPoP " + tok), wantStatus: 401},
		{name: "Bearerx", header: auth("Bearerx abc"), wantStatus: 401},
		{name: "Bearer without a separator", header: auth("Bearer" + tok), wantStatus: 401},
		{name: "a longer scheme with symbols", header: auth("Bearer-v2 " + tok), wantStatus: 401},
		{name: "shorter than the scheme", header: auth("Bear"), wantStatus: 401},
		{name: "empty value", header: auth(""), wantStatus: 401},
		{name: "no header", wantStatus: 401},
		{name: "a bad token is extracted, then refused", header: auth("Bearer abc"), wantToken: "abc", wantStatus: 401},
	})
}

func TestHeaderExtractor(t *testing.T) {
	tok := htToken(t, nil)
	htRunExtract(t, jwtguard.Header("x-access-token"), []htExtractCase{
		{name: "value is the token", header: http.Header{"X-Access-Token": {tok}}, wantToken: tok, wantStatus: 200},
		{name: "surrounding white space", header: http.Header{"X-Access-Token": {"  " + tok + "\t"}}, wantToken: tok, wantStatus: 200},
		{name: "empty value", header: http.Header{"X-Access-Token": {""}}, wantStatus: 401},
		{name: "spaces only", header: http.Header{"X-Access-Token": {"   "}}, wantStatus: 401},
		{name: "absent", header: http.Header{"Authorization": {"Bearer " + tok}}, wantStatus: 401},
		{name: "twice", header: http.Header{"X-Access-Token": {tok, tok}}, wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "more than one X-Access-Token header"},
		// The whole value is the token: a scheme is not stripped.
		{name: "with a Bearer scheme", header: http.Header{"X-Access-Token": {"Bearer " + tok}}, wantToken: "Bearer " + tok, wantStatus: 401},
	})
}

func TestCookieExtractor(t *testing.T) {
	tok := htToken(t, nil)
	cookie := func(lines ...string) http.Header { return http.Header{"Cookie": lines} }
	htRunExtract(t, jwtguard.Cookie("at"), []htExtractCase{
		{name: "alone", header: cookie("at=" + tok), wantToken: tok, wantStatus: 200},
		{name: "among others", header: cookie("a=1; at=" + tok + "; b=2"), wantToken: tok, wantStatus: 200},
		{name: "without spaces after semicolons", header: cookie("a=1;at=" + tok + ";b=2"), wantToken: tok, wantStatus: 200},
		{name: "quoted", header: cookie(`at="` + tok + `"`), wantToken: tok, wantStatus: 200},
		{name: "in the second Cookie header", header: cookie("a=1", "at="+tok), wantToken: tok, wantStatus: 200},
		{name: "empty", header: cookie("at="), wantStatus: 401},
		{name: "empty and quoted", header: cookie(`at=""`), wantStatus: 401},
		{name: "absent", header: cookie("a=1; b=2"), wantStatus: 401},
		{name: "name is case-sensitive", header: cookie("AT=" + tok), wantStatus: 401},
		{name: "name is not a prefix match", header: cookie("at2=" + tok), wantStatus: 401},
		{name: "no Cookie header", wantStatus: 401},
		{name: "twice in one header", header: cookie("at=" + tok + "; at=" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "more than one at cookie"},
		{name: "twice, once empty", header: cookie("at=; at=" + tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "more than one at cookie"},
		{name: "twice across Cookie headers", header: cookie("at="+tok, "at="+tok), wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "more than one at cookie"},
	})
}

func TestInsecureQueryExtractor(t *testing.T) {
	tok := htToken(t, nil)
	htRunExtract(t, jwtguard.InsecureQuery("access_token"), []htExtractCase{
		{name: "parameter", query: "?access_token=" + tok, wantToken: tok, wantStatus: 200},
		{name: "among others", query: "?a=1&access_token=" + tok + "&b=2", wantToken: tok, wantStatus: 200},
		{name: "empty", query: "?access_token=", wantStatus: 401},
		{name: "absent", query: "?token=" + tok, wantStatus: 401},
		{name: "no query", wantStatus: 401},
		{name: "twice", query: "?access_token=" + tok + "&access_token=" + tok, wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400, wantDesc: "more than one access_token query parameter"},
	})

	t.Run("not read by default", func(t *testing.T) {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/?access_token="+tok, nil)
		_, err := htNew(t).Check(r)
		assert.ErrorIs(t, err, jwtguard.ErrNoToken)
	})
}

func TestExtractorFunc(t *testing.T) {
	tok := htToken(t, nil)
	errBoom := errors.New("boom")
	tests := []struct {
		name       string
		fn         func(*http.Request) (string, error)
		wantToken  string
		wantErrs   []error
		wantStatus int
	}{
		{name: "token", fn: func(*http.Request) (string, error) { return tok, nil }, wantToken: tok, wantStatus: 200},
		{name: "no token", fn: func(*http.Request) (string, error) { return "", nil }, wantStatus: 401},
		{name: "plain error becomes malformed request", fn: func(*http.Request) (string, error) { return "", errBoom },
			wantErrs: []error{jwtguard.ErrMalformedRequest, errBoom}, wantStatus: 400},
		{name: "error and a token: the error wins", fn: func(*http.Request) (string, error) { return tok, errBoom },
			wantErrs: []error{jwtguard.ErrMalformedRequest, errBoom}, wantStatus: 400},
		{name: "malformed-request error kept", fn: func(*http.Request) (string, error) {
			return "", fmt.Errorf("x-token: %w", jwtguard.ErrMalformedRequest)
		}, wantErrs: []error{jwtguard.ErrMalformedRequest}, wantStatus: 400},
		{name: "ErrNoToken from fn means no token", fn: func(*http.Request) (string, error) { return "", jwtguard.ErrNoToken }, wantStatus: 401},
		{name: "wrapped ErrNoToken from fn means no token", fn: func(*http.Request) (string, error) {
			return "", fmt.Errorf("no x-token: %w", jwtguard.ErrNoToken)
		}, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := jwtguard.ExtractorFunc(tt.fn)
			assert.Equal(t, jwtguard.SourceCustom, e.Source())
			r := htRequest(t, "")
			token, err := e.Extract(r)
			for _, want := range tt.wantErrs {
				assert.ErrorIs(t, err, want)
			}
			if tt.wantErrs == nil {
				assert.NoError(t, err)
				assert.Equal(t, tt.wantToken, token)
			}
			_, checkErr := htNew(t, jwtguard.WithExtractors(e)).Check(r)
			for _, want := range tt.wantErrs {
				assert.ErrorIs(t, checkErr, want)
			}
			got := htRecord(htNew(t, jwtguard.WithExtractors(e)).Handler(&htEcho{}), r)
			assert.Equal(t, tt.wantStatus, got.status)
			assert.NotContains(t, got.body, "boom", "the application's error never reaches the client")
		})
	}
}

func TestExtractorSources(t *testing.T) {
	tests := []struct {
		name string
		e    jwtguard.Extractor
		want jwtguard.Source
	}{
		{name: "AuthorizationHeader", e: jwtguard.AuthorizationHeader(), want: jwtguard.SourceHeader},
		{name: "Header", e: jwtguard.Header("X-Token"), want: jwtguard.SourceHeader},
		{name: "Cookie", e: jwtguard.Cookie("at"), want: jwtguard.SourceCookie},
		{name: "InsecureQuery", e: jwtguard.InsecureQuery("t"), want: jwtguard.SourceQuery},
		{name: "ExtractorFunc", e: jwtguard.ExtractorFunc(func(*http.Request) (string, error) { return "", nil }), want: jwtguard.SourceCustom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.e.Source())
		})
	}
}

// TestExtractorChain documents what happens when a request carries a token
// in more than one configured source: it is a malformed request (RFC 6750
// §2), even when the tokens are equal.
func TestExtractorChain(t *testing.T) {
	tok := htToken(t, nil)
	other := htToken(t, map[string]any{"sub": "user-2"})
	mw := htNew(t, jwtguard.WithExtractors(
		jwtguard.AuthorizationHeader(),
		jwtguard.Cookie("at"),
		jwtguard.InsecureQuery("access_token"),
	))
	tests := []struct {
		name       string
		header     http.Header
		query      string
		wantSub    string
		wantErr    error
		wantStatus int
	}{
		{name: "header only", header: http.Header{"Authorization": {"Bearer " + tok}}, wantSub: "user-1", wantStatus: 200},
		{name: "cookie only", header: http.Header{"Cookie": {"at=" + other}}, wantSub: "user-2", wantStatus: 200},
		{name: "query only", query: "?access_token=" + tok, wantSub: "user-1", wantStatus: 200},
		{name: "Basic header and a cookie", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}, "Cookie": {"at=" + other}}, wantSub: "user-2", wantStatus: 200},
		{name: "header and an empty cookie", header: http.Header{"Authorization": {"Bearer " + tok}, "Cookie": {"at="}}, wantSub: "user-1", wantStatus: 200},
		{name: "header and cookie, same token", header: http.Header{"Authorization": {"Bearer " + tok}, "Cookie": {"at=" + tok}}, wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400},
		{name: "header and cookie, different tokens", header: http.Header{"Authorization": {"Bearer " + tok}, "Cookie": {"at=" + other}}, wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400},
		{name: "header and query", header: http.Header{"Authorization": {"Bearer " + tok}}, query: "?access_token=" + tok, wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400},
		{name: "cookie and query", header: http.Header{"Cookie": {"at=" + tok}}, query: "?access_token=" + other, wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400},
		{name: "malformed header, good cookie", header: http.Header{"Authorization": {"Bearer"}, "Cookie": {"at=" + tok}}, wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400},
		{name: "good header, two cookies", header: http.Header{"Authorization": {"Bearer " + tok}, "Cookie": {"at=" + tok + "; at=" + tok}}, wantErr: jwtguard.ErrMalformedRequest, wantStatus: 400},
		{name: "no source", wantErr: jwtguard.ErrNoToken, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/"+tt.query, nil)
			r.Header = tt.header.Clone()
			if r.Header == nil {
				r.Header = http.Header{}
			}
			claims, err := mw.Check(r)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantSub, claims.(*jwtguard.Claims).Subject)
			}
			got := htRecord(mw.Handler(&htEcho{}), r)
			assert.Equal(t, tt.wantStatus, got.status)
		})
	}

	// An ExtractorFunc that says "no token" with ErrNoToken must neither
	// stop the chain nor make Optional refuse an anonymous request.
	t.Run("ExtractorFunc returning ErrNoToken, then a header", func(t *testing.T) {
		none := jwtguard.ExtractorFunc(func(*http.Request) (string, error) { return "", jwtguard.ErrNoToken })
		mw := htNew(t, jwtguard.WithExtractors(none, jwtguard.AuthorizationHeader()))
		got := htRecord(mw.Handler(&htEcho{}), htRequest(t, "Bearer "+tok))
		htAssertResponse(t, got, http.StatusOK, "", "sub=user-1")
		got = htRecord(mw.Optional(&htEcho{}), htRequest(t, ""))
		htAssertResponse(t, got, http.StatusOK, "", "anonymous")
	})

	t.Run("over a real server, header and cookie", func(t *testing.T) {
		echo := &htEcho{}
		srv := httptest.NewServer(mw.Handler(echo))
		defer srv.Close()
		u, err := url.Parse(srv.URL)
		require.NoError(t, err)
		client := &http.Client{Jar: htJar(t, u, &http.Cookie{Name: "at", Value: tok, Path: "/"}), Transport: srv.Client().Transport}
		got := htDo(t, client, http.MethodGet, srv.URL, http.Header{"Authorization": {"Bearer " + tok}})
		htAssertResponse(t, got, http.StatusBadRequest, htChallenge("invalid_request", "token in more than one place: send it in one only"),
			htBody("invalid_request", "token in more than one place: send it in one only"))
		got = htDo(t, client, http.MethodGet, srv.URL, nil)
		htAssertResponse(t, got, http.StatusOK, "", "sub=user-1")
		assert.Equal(t, int64(1), echo.calls.Load())
	})
}
