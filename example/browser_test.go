package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/jwtguard/jwtguard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowser drives the page in headless Chromium against the running
// example: a first load that probes the session without a failed request,
// empty fields named, register, log in by pressing Enter in the form,
// cookies out of the script's reach, /me, an automatic refresh after the
// access token expires, forged cross-site and cross-origin form POSTs
// refused, the session list signing another session out and every other
// one, and logout.
//
// It needs chromium on PATH (the Debian package; test.sh installs it). On
// failure it saves a screenshot in $JWTGUARD_SCREENSHOT_DIR, or else in the
// test's temporary directory, and logs its path, the page's log and the
// server's log.
// stepTimeout bounds one browser step: a guard against a hang, generous
// enough for a loaded machine, not a measure of speed.
const stepTimeout = time.Minute

func TestBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("SKIPPING THE BROWSER TEST: chromium is not on PATH (apt-get install chromium, or run ./test.sh as root)")
	}
	start := time.Now()
	var logs syncBuffer
	// The server runs on a clock the test moves forward to let the access
	// token expire. The token lives long enough in real time (and so does
	// its cookie, in the browser) for the slowest run.
	const accessTTL = time.Hour
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	app := startRun(t, map[string]string{
		"ADDR":              "localhost:0",
		"JWT_SECRET":        testSecret,
		"DB_PATH":           filepath.Join(t.TempDir(), "users.db"),
		"ACCESS_TOKEN_TTL":  accessTTL.String(),
		"REFRESH_TOKEN_TTL": "24h",
	}, &logs, func(c *Config) { c.Clock = clock })
	require.True(t, strings.HasPrefix(app, "http://localhost:"), app)

	// Two attacker pages that post a logout form to the example as soon as
	// they load: one from another site (127.0.0.1 is not the site
	// localhost), one from another origin of the same site (localhost on
	// another port), where SameSite=Lax does not stop the cookies.
	attacker := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="POST" action="%s%s">
<input type="hidden" name="refresh_token" value=""></form>
<script>document.getElementById("f").submit()</script>`, app, logoutPath)
	})
	crossSite := httptest.NewServer(attacker) // http://127.0.0.1:port
	t.Cleanup(crossSite.Close)
	sameSite := httptest.NewServer(attacker)
	t.Cleanup(sameSite.Close)
	sameSiteURL := strings.Replace(sameSite.URL, "127.0.0.1", "localhost", 1)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 1200),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	// The first run starts the browser. Its context must carry no timeout
	// (that would stop the browser later), so a timer bounds it instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browser, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-started:
		require.NoError(t, err, "start chromium")
	case <-time.After(90 * time.Second):
		cancelAlloc()
		t.Fatal("chromium did not start within 90s")
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))

	// step runs actions within timeout; on failure it saves a screenshot
	// and stops the test.
	step := func(t *testing.T, name string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, timeout)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			browserFailure(t, browser, name, &logs)
			t.Fatalf("browser step %q: %v", name, err)
		}
	}
	eval := func(t *testing.T, name, expr string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, stepTimeout)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			browserFailure(t, browser, name, &logs)
			t.Fatalf("browser step %q: %v", name, err)
		}
		return v
	}
	cookies := func(t *testing.T) map[string]*network.Cookie {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, stepTimeout)
		defer cancel()
		res, err := chromedp.Call(ctx, storage.GetCookies, storage.GetCookiesParams{})
		require.NoError(t, err)
		m := map[string]*network.Cookie{}
		for _, c := range res.Cookies {
			m[c.Name] = c
		}
		return m
	}
	statusIs := func(text string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.getElementById("status").textContent.includes(%q)`, text),
			chromedp.WithPollingInterval(50*time.Millisecond))
	}
	fail := func(name string) {
		t.Helper()
		if t.Failed() {
			browserFailure(t, browser, name, &logs)
			t.FailNow()
		}
	}

	// failed lists the requests of this page load answered with 4xx or 5xx
	// (the browser's own record, whatever the page's log says).
	failed := func(t *testing.T) string {
		return eval(t, "failed requests", `performance.getEntriesByType("resource")
			.filter((e) => e.responseStatus >= 400).map((e) => e.name + " " + e.responseStatus).join(", ")`)
	}
	// sessionButtons is whether the session buttons are enabled.
	sessionButtons := func(t *testing.T) string {
		return eval(t, "session buttons", `["me-btn", "refresh-btn", "logout-btn"]
			.map((id) => document.getElementById(id).disabled ? "disabled" : "enabled").join(" ")`)
	}

	const email, password = "grace@example.com", "a long enough password"
	step(t, "open the page", stepTimeout,
		chromedp.Navigate(app+"/"),
		chromedp.WaitVisible(chromedp.ID("login-btn")),
		statusIs("Not logged in."),
	)

	t.Run("the first load probes the session quietly", func(t *testing.T) {
		assert.Empty(t, failed(t), "no request of the first load fails")
		pageLog := eval(t, "page log", `document.getElementById("log").textContent`)
		assert.Contains(t, pageLog, "GET /api/v1/auth/session → 200")
		assert.NotContains(t, pageLog, "→ 4")
		assert.NotContains(t, pageLog, "/me")
		assert.Equal(t, "disabled disabled disabled", sessionButtons(t), "nothing to do with a session yet")
	})
	fail("first load")

	t.Run("a form that password managers and Enter understand", func(t *testing.T) {
		form := eval(t, "form", `["email", "password", "login-btn", "register-btn"].map((id) => {
			const e = document.getElementById(id);
			return id + ":" + (e.form ? e.form.id : "none") + ":" + (e.autocomplete || e.type);
		}).join(" ")`)
		assert.Equal(t, "email:account:username password:account:current-password login-btn:account:submit register-btn:account:submit", form)
		assert.Equal(t, "post", eval(t, "form method", `document.getElementById("account").method`),
			"never a GET that would put the password in a URL")
	})
	fail("form")

	t.Run("empty fields are named", func(t *testing.T) {
		before := eval(t, "requests", `String(performance.getEntriesByType("resource").length)`)
		step(t, "register with nothing", stepTimeout,
			chromedp.Click(chromedp.ID("register-btn")),
			statusIs("Registration failed: email and password are empty."),
		)
		step(t, "log in without a password", stepTimeout,
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.Click(chromedp.ID("login-btn")),
			statusIs("Login failed: password is empty."),
		)
		assert.Equal(t, "password", eval(t, "focus", `document.activeElement.id`), "the empty field has the focus")
		assert.Equal(t, before, eval(t, "requests", `String(performance.getEntriesByType("resource").length)`),
			"nothing was sent")
	})
	fail("empty fields")

	step(t, "register", stepTimeout,
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("register-btn")),
		statusIs("Registered "+email),
	)
	step(t, "log in with Enter", stepTimeout,
		chromedp.SendKeys(chromedp.ID("password"), kb.Enter),
		statusIs("Logged in as "+email),
	)
	assert.Equal(t, "enabled enabled enabled", sessionButtons(t))
	assert.Empty(t, eval(t, "password field", `document.getElementById("password").value`), "cleared after login")
	fail("log in")

	t.Run("the script never sees the tokens", func(t *testing.T) {
		jar := cookies(t)
		access, refresh := jar[jwtguard.AccessCookieName], jar[jwtguard.PathRefreshCookieName]
		require.NotNil(t, access, "cookies: %v", jar)
		require.NotNil(t, refresh, "cookies: %v", jar)
		for _, c := range []*network.Cookie{access, refresh} {
			assert.True(t, c.HTTPOnly, c.Name)
			assert.True(t, c.Secure, c.Name)
			assert.Equal(t, network.CookieSameSiteLax, c.SameSite, c.Name)
			assert.Equal(t, "localhost", c.Domain, c.Name)
		}
		assert.Equal(t, authPrefix, refresh.Path)
		visible := eval(t, "document.cookie", "document.cookie")
		assert.NotContains(t, visible, "access_token")
		assert.NotContains(t, visible, "refresh_token")
		assert.NotContains(t, visible, "eyJ")
		html := eval(t, "page text", "document.documentElement.outerHTML")
		assert.NotContains(t, html, access.Value)
		assert.NotContains(t, html, refresh.Value)
	})
	fail("cookies")

	me := eval(t, "/me shown", `document.getElementById("me").textContent`)
	assert.Contains(t, me, `"email": "`+email+`"`)
	assert.Contains(t, me, `"id": 1`)
	assert.Contains(t, me, `"is_active": true`)
	fail("/me")

	t.Run("a call after the access token expired refreshes and succeeds", func(t *testing.T) {
		before := cookies(t)[jwtguard.PathRefreshCookieName].Value
		// The browser still sends the access cookie; for the server the
		// token has expired.
		skew.Add(int64(accessTTL + time.Minute))
		require.NotNil(t, cookies(t)[jwtguard.AccessCookieName])
		step(t, "call /me after expiry", stepTimeout,
			chromedp.Evaluate[chromedp.Void](`document.getElementById("me").textContent = ""`),
			chromedp.Click(chromedp.ID("me-btn")),
			chromedp.Poll[chromedp.Void](`document.getElementById("me").textContent.includes("`+email+`")`,
				chromedp.WithPollingInterval(50*time.Millisecond)),
		)
		pageLog := eval(t, "page log", `document.getElementById("log").textContent`)
		assert.Contains(t, pageLog, "GET /api/v1/auth/me → 401")
		assert.Contains(t, pageLog, "POST /api/v1/auth/refresh → 200")
		assert.Contains(t, pageLog, "refreshed automatically")
		after := cookies(t)[jwtguard.PathRefreshCookieName]
		require.NotNil(t, after)
		assert.NotEqual(t, before, after.Value, "the refresh token rotated")
	})
	fail("refresh")

	t.Run("forged form posts are refused", func(t *testing.T) {
		refresh := cookies(t)[jwtguard.PathRefreshCookieName]
		require.NotNil(t, refresh)
		for _, origin := range []struct{ name, url, answer string }{
			// SameSite=Lax: the browser sends no cookie at all.
			{"cross-site", crossSite.URL, `"error":"unauthorized"`},
			// Same site, so the cookies go, and jwtguard's CSRF check refuses.
			{"same-site, cross-origin", sameSiteURL, "cross-origin request refused"},
		} {
			step(t, "forged post from "+origin.name, stepTimeout,
				chromedp.Navigate(origin.url+"/"),
				chromedp.Poll[chromedp.Void](`location.href.endsWith("`+logoutPath+`") && document.readyState === "complete"`,
					chromedp.WithPollingInterval(50*time.Millisecond)),
			)
			body := eval(t, "forged answer", "document.body.innerText")
			assert.Contains(t, body, origin.answer, origin.name)
			after := cookies(t)[jwtguard.PathRefreshCookieName]
			if assert.NotNil(t, after, "the forged post from %s cleared the refresh cookie", origin.name) {
				assert.Equal(t, refresh.Value, after.Value, origin.name)
			}
		}
		// The session survived: the cookies are still there, the family
		// was not revoked, and the page still works.
		step(t, "still logged in", stepTimeout,
			chromedp.Navigate(app+"/"),
			chromedp.WaitVisible(chromedp.ID("login-btn")),
			statusIs("Logged in as "+email),
		)
		assert.Empty(t, failed(t), "the probe refreshes first when the access cookie has expired")
	})
	fail("forged posts")

	t.Run("the session list signs other sessions out", func(t *testing.T) {
		// Two more sessions of the user, from an API client.
		apiLogin := func(userAgent string) string {
			req, err := http.NewRequest(http.MethodPost, app+loginPath,
				strings.NewReader(`{"username":"`+email+`","password":"`+password+`"}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", userAgent)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
			return tok.AccessToken
		}
		apiMe := func(access string) int {
			req, err := http.NewRequest(http.MethodGet, app+mePath, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+access)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		one, two := apiLogin("<b>Client</b> one"), apiLogin("Client two")
		listed := func(n int) chromedp.Action[chromedp.Void] {
			return chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll("#sessions li").length === %d`, n),
				chromedp.WithPollingInterval(50*time.Millisecond))
		}
		step(t, "list three sessions", 20*time.Second,
			chromedp.Click(chromedp.ID("me-btn")),
			listed(3),
		)
		text := eval(t, "session list", `document.getElementById("sessions").innerText`)
		assert.Contains(t, text, "This browser: ")
		assert.Contains(t, text, "<b>Client</b> one", "a user agent is shown as text")
		assert.Equal(t, "0", eval(t, "markup", `String(document.querySelectorAll("#sessions b").length)`))

		step(t, "sign one session out", 20*time.Second,
			chromedp.Click(fmt.Sprintf(`#sessions li[data-id=%q] button`, fid(t, one))),
			listed(2),
		)
		assert.Equal(t, http.StatusUnauthorized, apiMe(one), "the session signed out")
		assert.Equal(t, http.StatusOK, apiMe(two), "the other one goes on")

		step(t, "sign out everywhere else", 20*time.Second,
			chromedp.Click(chromedp.ID("others-btn")),
			statusIs("Signed out everywhere else."),
			listed(1),
		)
		assert.Equal(t, http.StatusUnauthorized, apiMe(two))
		assert.Contains(t, eval(t, "session list", `document.getElementById("sessions").innerText`), "This browser: ")
		step(t, "still logged in", 20*time.Second,
			chromedp.Click(chromedp.ID("me-btn")),
			statusIs("Logged in as "+email),
		)
	})
	fail("sessions")

	t.Run("logout clears the cookies and revokes the tokens", func(t *testing.T) {
		access := cookies(t)[jwtguard.AccessCookieName]
		require.NotNil(t, access)
		step(t, "log out", stepTimeout,
			chromedp.Click(chromedp.ID("logout-btn")),
			statusIs("Logged out."),
		)
		jar := cookies(t)
		assert.NotContains(t, jar, jwtguard.AccessCookieName)
		assert.NotContains(t, jar, jwtguard.PathRefreshCookieName)
		assert.Equal(t, "disabled disabled disabled", sessionButtons(t), "no session left to use")
		assert.Equal(t, "0", eval(t, "session list", `String(document.querySelectorAll("#sessions li").length)`))
		// The access token itself is revoked, not only forgotten.
		req, err := http.NewRequest(http.MethodGet, app+mePath, nil)
		require.NoError(t, err)
		req.AddCookie(&http.Cookie{Name: access.Name, Value: access.Value})
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
	fail("logout")
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}

// browserFailure saves a screenshot and logs what helps to understand a
// failure: where the screenshot is, the page's own log and the server's.
func browserFailure(t *testing.T, browser context.Context, name string, logs *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, stepTimeout)
	defer cancel()
	dir := os.Getenv("JWTGUARD_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	file := filepath.Join(dir, "browser-"+strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(name))+".png")
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Logf("no screenshot: %v", err)
	} else if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Logf("no screenshot: %v", err)
	} else {
		t.Logf("screenshot of the failure: %s (set JWTGUARD_SCREENSHOT_DIR to keep it after the test)", file)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		t.Logf("page: %s", loc)
	}
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("log") || document.body).innerText`)); err == nil {
		t.Logf("page log:\n%s", text)
	}
	t.Logf("server log:\n%s", logs.String())
}
