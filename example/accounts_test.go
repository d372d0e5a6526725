package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// countingHasher counts the calls through the application's hasher: the
// cost of a login is its number of bcrypt comparisons, counted rather than
// timed.
type countingHasher struct {
	passwordHasher
	hashes, compares atomic.Int64
}

func (c *countingHasher) Hash(password []byte) ([]byte, error) {
	c.hashes.Add(1)
	return c.passwordHasher.Hash(password)
}

func (c *countingHasher) Compare(hash, password []byte) error {
	c.compares.Add(1)
	return c.passwordHasher.Compare(hash, password)
}

// counting makes the application count its bcrypt calls in c.
func counting(c *countingHasher) func(*App) {
	return func(a *App) {
		c.passwordHasher = a.passwords
		a.passwords = c
	}
}

// loginPaths are the ways to log in: JSON and form bodies, for API
// clients and for the page. All of them must check a password alike.
var loginPaths = []struct {
	name string
	rq   func(username, password string) request
}{
	{"JSON", func(u, p string) request {
		return request{method: http.MethodPost, path: loginPath, contentType: "application/json", body: jsonObject("username", u, "password", p)}
	}},
	{"form", func(u, p string) request {
		return request{method: http.MethodPost, path: loginPath, contentType: "application/x-www-form-urlencoded",
			body: url.Values{"username": {u}, "password": {p}}.Encode()}
	}},
	{"cookie JSON", func(u, p string) request {
		return request{method: http.MethodPost, path: cookieLoginPath, contentType: "application/json", body: jsonObject("username", u, "password", p)}
	}},
	{"cookie form", func(u, p string) request {
		return request{method: http.MethodPost, path: cookieLoginPath, contentType: "application/x-www-form-urlencoded",
			body: url.Values{"username": {u}, "password": {p}}.Encode()}
	}},
}

// jsonObject writes {"k1": "v1", …} with the bytes of the values as given
// (escaping only what JSON requires): encoding/json would turn invalid
// UTF-8 into U+FFFD before the server saw it.
func jsonObject(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%s":"`, kv[i])
		for _, c := range []byte(kv[i+1]) {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20:
				fmt.Fprintf(&b, `\u%04x`, c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func (s *testServer) registerWith(t *testing.T, email, password string) answer {
	t.Helper()
	return s.do(t, request{method: http.MethodPost, path: registerPath, contentType: "application/json", body: jsonObject("email", email, "password", password)})
}

// TestPasswordLimit: bcrypt reads 72 bytes and no more, so a password over
// 72 bytes is refused at registration, and refused at login on every path
// without a bcrypt call, instead of logging in on its first 72 bytes.
func TestPasswordLimit(t *testing.T) {
	var count countingHasher
	s := newTestServer(t, testConfig(t), counting(&count))
	p72 := strings.Repeat("p", 60) + "0123456789ab"
	require.Len(t, p72, 72)
	a := s.registerWith(t, "ada@example.com", p72)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)

	for _, path := range loginPaths {
		t.Run(path.name, func(t *testing.T) {
			a := s.do(t, path.rq("ada@example.com", p72))
			assert.Equal(t, http.StatusOK, a.status, "72 bytes: %s", a.body)
			for _, extra := range []string{"anything", strings.Repeat("x", 1000-72)} {
				before := count.compares.Load()
				a := s.do(t, path.rq("ada@example.com", p72+extra))
				assert.Equal(t, http.StatusUnauthorized, a.status, "%d bytes: %s", len(p72+extra), a.body)
				assert.Equal(t, "invalid_grant", a.str("error"))
				assert.Equal(t, before, count.compares.Load(), "no bcrypt call for a password bcrypt cannot check")
			}
		})
	}

	t.Run("register", func(t *testing.T) {
		a := s.registerWith(t, "bob@example.com", p72+"x")
		assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.body)
		assert.Equal(t, "password must be at most 72 bytes in UTF-8 (bcrypt's limit); this one is 73", a.str("error_description"))
		a = s.registerWith(t, "bob@example.com", strings.Repeat("x", 5000))
		assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.body)
		assert.Contains(t, a.str("error_description"), "at most 72 bytes")
	})

	t.Run("the limit is on the prepared bytes", func(t *testing.T) {
		nfc, nfd := strings.Repeat("\u00e9", 36), strings.Repeat("e\u0301", 36) // 72 and 108 bytes
		a := s.registerWith(t, "cy@example.com", nfd)
		require.Equal(t, http.StatusCreated, a.status, "NFD is stored as its 72-byte NFC: %s", a.body)
		for _, pw := range []string{nfc, nfd} {
			a := s.do(t, loginPaths[0].rq("cy@example.com", pw))
			assert.Equal(t, http.StatusOK, a.status, "%s", a.body)
		}
		a = s.registerWith(t, "dee@example.com", nfc+"\u00e9")
		assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.body)
		assert.Contains(t, a.str("error_description"), "this one is 74")
	})
}

// TestLoginCost: every bad login that could match an account costs one
// bcrypt comparison, whether the email is unknown, is not an email, or
// names an inactive user, as a wrong password does: the time of the answer
// does not tell which accounts exist. Counted, not timed.
func TestLoginCost(t *testing.T) {
	var count countingHasher
	s := newTestServer(t, testConfig(t), counting(&count))
	s.register(t, "ada@example.com")
	inactive := s.register(t, "old@example.com")
	require.NoError(t, s.users.SetActive(context.Background(), inactive, false))
	hashes := count.hashes.Load()

	tests := []struct {
		name, username, password string
		status                   int
		compares                 int64
	}{
		{"right password", "ada@example.com", testPassword, 200, 1},
		{"another spelling", "ADA@ｅｘａｍｐｌｅ.com", testPassword, 200, 1},
		{"wrong password", "ada@example.com", "wrong password", 401, 1},
		{"unknown email", "nobody@example.com", testPassword, 401, 1},
		{"not an email", "nobody", testPassword, 401, 1},
		{"refused email", "k\u200date@example.com", testPassword, 401, 1},
		{"inactive user", "old@example.com", testPassword, 401, 1},
		// No account can have these: refused before the email is looked
		// at, so their time says nothing about accounts either.
		{"over 72 bytes", "ada@example.com", testPassword + strings.Repeat("!", 72), 401, 0},
		{"control character", "ada@example.com", "correct\thorse", 401, 0},
	}
	for _, path := range loginPaths {
		for _, tt := range tests {
			t.Run(path.name+"/"+tt.name, func(t *testing.T) {
				before := count.compares.Load()
				a := s.do(t, path.rq(tt.username, tt.password))
				require.Equal(t, tt.status, a.status, "%s", a.body)
				assert.Equal(t, tt.compares, count.compares.Load()-before, "bcrypt comparisons")
			})
		}
	}
	assert.Equal(t, hashes, count.hashes.Load(), "no hash made at login when the cost is current")

	// The comparison for an unknown user is as costly as for a known one.
	u, err := s.users.ByEmail(context.Background(), "ada@example.com")
	require.NoError(t, err)
	userCost, err := bcrypt.Cost(u.PasswordHash)
	require.NoError(t, err)
	dummyCost, err := bcrypt.Cost(s.app.dummyHash)
	require.NoError(t, err)
	assert.Equal(t, userCost, dummyCost)
}

// TestRehashOnLogin: a hash of another cost (the default was 10 before)
// is made again at the current cost when its password is proved right,
// so that known and unknown users cost the same once they have logged in.
func TestRehashOnLogin(t *testing.T) {
	s := newTestServer(t, testConfig(t), func(a *App) { a.passwords = bcryptHasher{cost: bcrypt.MinCost + 1} })
	old, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	require.NoError(t, err)
	_, err = s.users.Create(context.Background(), "ada@example.com", old)
	require.NoError(t, err)
	cost := func() int {
		u, err := s.users.ByEmail(context.Background(), "ada@example.com")
		require.NoError(t, err)
		c, err := bcrypt.Cost(u.PasswordHash)
		require.NoError(t, err)
		return c
	}

	a := s.do(t, loginPaths[0].rq("ada@example.com", "wrong password"))
	require.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, bcrypt.MinCost, cost(), "a wrong password changes nothing")
	a = s.do(t, loginPaths[0].rq("ada@example.com", testPassword))
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, bcrypt.MinCost+1, cost())
	a = s.do(t, loginPaths[0].rq("ada@example.com", testPassword))
	assert.Equal(t, http.StatusOK, a.status, "the new hash works: %s", a.body)
}

// TestEmailIdentity: an address is an identity under PRECIS (local part)
// and IDNA (domain): every spelling of one identity is one account, and
// what neither allows is refused with 422 and a message that says why.
func TestEmailIdentity(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	a := s.registerWith(t, "José@Bücher.example", testPassword)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	assert.Equal(t, "josé@bücher.example", a.str("email"), "the canonical form")
	id := a.json["id"]

	for _, spelling := range []string{
		"jose\u0301@bu\u0308cher.example",       // NFD
		"ＪＯＳÉ@ＢÜＣＨＥＲ．ｅｘａｍｐｌｅ",                   // fullwidth, fullwidth full stop
		"josé@xn--bcher-kva.example",            // the domain's A-label
		"JOSE\u0301@XN--BCHER-KVA.EXAMPLE",      // both
		"josé@bücher\u3002example",              // ideographic full stop
		"Jos\u00c9@B\u00dcCHER.example",         // upper case
		"jos\u00e9@bu\u0308cher.Example",        // mixed
		"ｊｏｓｅ\u0301@bücher.example",             // fullwidth and NFD
		"josé@b\u00fccher.example",              // as registered
		"JOSÉ@xn--bcher-kva.EXAMPLE",            // upper case A-label
		"jos\u0065\u0301@xn--bcher-kva.example", // NFD and A-label
	} {
		t.Run(spelling, func(t *testing.T) {
			a := s.registerWith(t, spelling, "another password")
			assert.Equal(t, http.StatusConflict, a.status, "%s", a.body)
			a = s.do(t, loginPaths[0].rq(spelling, testPassword))
			require.Equal(t, http.StatusOK, a.status, "%s", a.body)
			me := s.me(t, a.str("access_token"))
			assert.Equal(t, id, me.json["id"])
			assert.Equal(t, "josé@bücher.example", me.str("email"))
		})
	}

	t.Run("different identities", func(t *testing.T) {
		for _, email := range []string{
			"i\u0307stanbul@example.com", // what İ maps to: not ASCII i
			"istanbul@example.com",
			"stra\u00dfe@example.com", // ß is not ss
			"strasse@example.com",
			"jose@bücher.example", // e is not é
		} {
			a := s.registerWith(t, email, testPassword)
			assert.Equal(t, http.StatusCreated, a.status, "%s: %s", email, a.body)
		}
		a := s.registerWith(t, "\u0130stanbul@example.com", testPassword)
		assert.Equal(t, http.StatusConflict, a.status, "İ maps to i + U+0307: %s", a.body)
	})

	tests := []struct {
		name, email, description string
	}{
		{"zero width joiner", "ka\u200dte@example.com", "email: the part before the @ contains U+200D ZERO WIDTH JOINER, which a username may not contain (RFC 8265)"},
		{"Kelvin sign", "\u212aate@example.com", "email: the part before the @ contains U+212A KELVIN SIGN, a compatibility character, which a username may not contain (RFC 8265)"},
		{"ohm sign", "\u2126mega@example.com", "U+2126 OHM SIGN, a compatibility character"},
		{"space", "ka te@example.com", "U+0020 SPACE"},
		{"display name", "Kate <kate@example.com>", "U+0020 SPACE"},
		{"replacement character", "\ufffd@example.com", "U+FFFD REPLACEMENT CHARACTER"},
		{"quoted local part", `"kate"@example.com`, `contains '"', which an address may only have inside quotes`},
		{"comment", "kate(x)@example.com", `contains '('`},
		{"two @", "a@b@example.com", "email must contain exactly one @"},
		{"no @", "kate.example.com", "email must contain exactly one @"},
		{"fullwidth @ only", "kate＠example.com", "email must contain exactly one @"},
		{"leading dot", ".kate@example.com", "may not start or end with a dot"},
		{"two dots", "ka..te@example.com", "two dots in a row"},
		{"nothing before @", "@example.com", "email has nothing before the @"},
		{"nothing after @", "kate@", "email has nothing after the @"},
		{"long local part", strings.Repeat("k", 65) + "@example.com", "email: the part before the @ is 65 bytes, at most 64"},
		{"long address", strings.Repeat("k", 64) + "@" + strings.Repeat(strings.Repeat("d", 60)+".", 3) + "example", "email is too long: 255 bytes, at most 254"},
		{"huge input", strings.Repeat("k", 2000) + "@example.com", "email is too long: at most 254 bytes"},
		{"underscore in domain", "kate@exa_mple.com", "email: the domain contains U+005F LOW LINE, which a domain name may not contain"},
		{"joiner in domain", "kate@exa\u200dmple.com", "email: the domain contains U+200D ZERO WIDTH JOINER"},
		{"hyphen at the end of a label", "kate@example-.com", "email: the domain is not a valid domain name"},
		{"bad A-label", "kate@xn--zz.com", "email: the domain is not a valid domain name"},
		{"mixed directions", "kate@a\u05d0.example", "email: the domain is not a valid domain name"},
		{"label over 63 bytes", "kate@" + strings.Repeat("d", 64) + ".com", "email: the domain is not a valid domain name"},
		{"trailing dot", "kate@example.com.", "email: the domain ends with a dot"},
		{"no dot", "kate@localhost", "email: the domain needs a dot"},
		{"IP address", "kate@192.168.1.2", "IP addresses are not accepted"},
		{"address literal", "kate@[192.168.1.2]", "U+005B LEFT SQUARE BRACKET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := s.registerWith(t, tt.email, testPassword)
			assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.body)
			assert.Equal(t, "invalid_request", a.str("error"))
			assert.Contains(t, a.str("error_description"), tt.description)
			assert.True(t, strings.HasPrefix(a.str("error_description"), "email"), "names the field: %s", a.body)
		})
	}
}

// TestInvalidUTF8: a string that is not UTF-8 is refused with 422 naming
// its member, never stored with U+FFFD in place of the bad bytes (which
// made two inputs one account).
func TestInvalidUTF8(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	tests := []struct {
		name, body, description string
	}{
		{"byte FF in the email", `{"email":"a` + "\xff" + `b@example.com","password":"long enough"}`, "email is not valid UTF-8"},
		{"byte FE in the email", `{"email":"a` + "\xfe" + `b@example.com","password":"long enough"}`, "email is not valid UTF-8"},
		{"truncated sequence", `{"email":"a` + "\xc3" + `@example.com","password":"long enough"}`, "email is not valid UTF-8"},
		{"encoded surrogate", `{"email":"a` + "\xed\xa0\x80" + `@example.com","password":"long enough"}`, "email is not valid UTF-8"},
		{"lone low surrogate escape", `{"email":"a\udc00@example.com","password":"long enough"}`, "email is not valid UTF-8"},
		{"lone high surrogate escape", `{"email":"a\ud800@example.com","password":"long enough"}`, "email is not valid UTF-8"},
		{"high surrogate then a letter", `{"email":"a\ud800\u0041@example.com","password":"long enough"}`, "email is not valid UTF-8"},
		{"reversed pair", `{"email":"a\ude00\ud83d@example.com","password":"long enough"}`, "email is not valid UTF-8"},
		{"in the password", `{"email":"kate@example.com","password":"long ` + "\xff" + ` enough"}`, "password is not valid UTF-8"},
		{"escape in the password", `{"password":"long \udfff enough","email":"kate@example.com"}`, "password is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := s.do(t, request{method: http.MethodPost, path: registerPath, contentType: "application/json", body: tt.body})
			assert.Equal(t, http.StatusUnprocessableEntity, a.status, "%s", a.body)
			assert.Equal(t, tt.description, a.str("error_description"))
		})
	}
	_, err := s.users.ByID(context.Background(), 1)
	assert.True(t, errors.Is(err, errNotFound), "no account was made: %v", err)

	t.Run("escaped text is fine", func(t *testing.T) {
		a := s.do(t, request{method: http.MethodPost, path: registerPath, contentType: "application/json",
			body: `{"email":"jos\u00e9@example.com","password":"pair \ud83d\ude00 and \\udc00 text"}`})
		require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
		assert.Equal(t, "josé@example.com", a.str("email"))
		a = s.do(t, loginPaths[0].rq("josé@example.com", "pair 😀 and \\udc00 text"))
		assert.Equal(t, http.StatusOK, a.status, "%s", a.body)
	})
}

// TestStrictJSON: register reads its body at least as strictly as
// jwtguard's own endpoints read theirs; a member twice, or in another case,
// is a 400 everywhere.
func TestStrictJSON(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	tests := []struct {
		name, body, description string
	}{
		{"email twice", `{"email":"a@example.com","email":"b@example.com","password":"long enough"}`, `malformed JSON body: member "email" appears twice`},
		{"email twice, once escaped", `{"email":"a@example.com","\u0065mail":"b@example.com","password":"long enough"}`, `malformed JSON body: member "email" appears twice`},
		{"email in another case", `{"email":"a@example.com","Email":"b@example.com","password":"long enough"}`, `malformed JSON body: unknown member "Email"`},
		{"password in another case", `{"email":"a@example.com","password":"long enough","PASSWORD":"other one"}`, `unknown member "PASSWORD"`},
		{"k and the Kelvin sign", `{"k":1,"\u212a":2,"email":"a@example.com","password":"long enough"}`, `unknown member "k"`},
		{"twice, in an unknown member", `{"email":"a@example.com","password":"long enough","x":[{"a":1,"a":2}]}`, `unknown member "x"`},
		{"deep, in an unknown member", `{"email":"a@example.com","password":"long enough","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, `unknown member "x"`},
		{"deep, in a member", `{"email":"a@example.com","password":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "malformed JSON body: password must be a string"},
		{"password a number", `{"email":"a@example.com","password":12345678}`, "malformed JSON body: password must be a string"},
		{"invalid byte in a name", `{"email":"a@example.com","password":"long enough","` + "\xff" + `":1}`, "malformed JSON body: not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := s.do(t, request{method: http.MethodPost, path: registerPath, contentType: "application/json", body: tt.body})
			assert.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
			assert.Equal(t, "invalid_request", a.str("error"))
			assert.Contains(t, a.str("error_description"), tt.description)
		})
	}
	_, err := s.users.ByID(context.Background(), 1)
	assert.True(t, errors.Is(err, errNotFound), "no account was made: %v", err)

	t.Run("the package's endpoints alike", func(t *testing.T) {
		for _, rq := range []request{
			{method: http.MethodPost, path: loginPath, body: `{"username":"a@example.com","username":"b@example.com","password":"long enough"}`},
			{method: http.MethodPost, path: cookieLoginPath, body: `{"username":"a@example.com","Username":"b@example.com","password":"long enough"}`},
			{method: http.MethodPost, path: refreshPath, body: `{"refresh_token":"a.b.c","refresh_token":"d.e.f"}`},
			{method: http.MethodPost, path: logoutPath, body: `{"refresh_token":"a.b.c","refresh_token":"d.e.f"}`},
		} {
			rq.contentType = "application/json"
			a := s.do(t, rq)
			assert.Equal(t, http.StatusBadRequest, a.status, "%s: %s", rq.path, a.body)
			assert.Equal(t, "invalid_request", a.str("error"), rq.path)
		}
	})
}

// spellings returns n different spellings of josé@bücher.example.
func spellings(n int) []string {
	locals := []string{"josé", "jose\u0301", "José", "Jose\u0301", "JOSÉ", "JOSE\u0301", "ｊｏｓé", "ＪＯＳÉ", "ｊｏｓｅ\u0301", "jOsÉ"}
	domains := []string{"bücher.example", "bu\u0308cher.example", "BÜCHER.EXAMPLE", "xn--bcher-kva.example",
		"XN--BCHER-KVA.example", "ｂüｃｈｅｒ．ｅｘａｍｐｌｅ", "Bücher\u3002example"}
	var out []string
	for _, d := range domains {
		for _, l := range locals {
			out = append(out, l+"@"+d)
		}
	}
	return out[:n]
}

// TestConcurrentSpellings: 50 registrations of one identity at once, each
// spelled differently, make one account: the users table's UNIQUE
// constraint holds the canonical form.
func TestConcurrentSpellings(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	emails := spellings(50)
	distinct := map[string]bool{}
	for _, e := range emails {
		distinct[e] = true
		id, err := canonicalEmail(e)
		require.NoError(t, err, e)
		require.Equal(t, "josé@bücher.example", id, e)
	}
	require.Len(t, distinct, 50)

	start := make(chan struct{})
	statuses := make(chan int, len(emails))
	var wg sync.WaitGroup
	for i, email := range emails {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Not s.do: require must not stop the test from another goroutine.
			resp, err := s.Client().Post(s.URL+registerPath, "application/json",
				strings.NewReader(jsonObject("email", email, "password", fmt.Sprintf("password number %d", i))))
			if !assert.NoError(t, err) {
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: 49}, count)
}

// TestSessionProbe: the page learns whether it has a session without a
// request that fails: /session answers 200 with the token cookies sent.
func TestSessionProbe(t *testing.T) {
	s := newTestServer(t, testConfig(t))
	s.register(t, "ada@example.com")
	login := s.do(t, request{method: http.MethodPost, path: cookieLoginPath, contentType: "application/json",
		body: jsonObject("username", "ada@example.com", "password", testPassword)})
	require.Equal(t, http.StatusOK, login.status, "%s", login.body)
	access := cookieNamed(login.header, jwtguard.AccessCookieName)
	refresh := cookieNamed(login.header, jwtguard.PathRefreshCookieName)
	require.NotNil(t, access)
	require.NotNil(t, refresh)

	for _, tt := range []struct {
		name    string
		cookies []*http.Cookie
		want    map[string]any
	}{
		{"none", nil, map[string]any{"access": false, "refresh": false}},
		{"both", []*http.Cookie{access, refresh}, map[string]any{"access": true, "refresh": true}},
		{"refresh only (the access cookie expired)", []*http.Cookie{refresh}, map[string]any{"access": false, "refresh": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := s.do(t, request{method: http.MethodGet, path: sessionPath, cookies: tt.cookies})
			require.Equal(t, http.StatusOK, a.status, "%s", a.body)
			assert.Equal(t, tt.want, a.json)
			assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
		})
	}
	a := s.do(t, request{method: http.MethodPost, path: sessionPath})
	assert.Equal(t, http.StatusMethodNotAllowed, a.status)
}
