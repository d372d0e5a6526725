package jwtguard

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// htuMatches reports whether a proof's htu names the URI of r, both without
// query and fragment and normalised (RFC 9449 §4.3, RFC 3986 §6.2.2 and
// §6.2.3).
func (g *dpopGuard) htuMatches(htu string, r *http.Request) bool {
	want, ok := normalizeHTU(htu)
	if !ok {
		return false
	}
	scheme, host := g.proxies.origin(r)
	path := "/"
	if r.URL != nil {
		path = r.URL.EscapedPath()
	}
	got, ok := normalizeURI(scheme, host, path)
	return ok && got == want
}

// normalizeHTU normalises an htu claim: an absolute http or https URI with
// a host and no user information. Its query and fragment are dropped.
func normalizeHTU(htu string) (string, bool) {
	u, err := url.Parse(htu)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	return normalizeURI(u.Scheme, u.Host, u.EscapedPath())
}

// normalizeURI builds scheme://host/path normalised: scheme and host in
// lower case, the scheme's default port dropped, percent-encodings in upper
// case and decoded where they stand for unreserved characters, dot segments
// removed, and an empty path made "/".
func normalizeURI(scheme, host, path string) (string, bool) {
	scheme = strings.ToLower(scheme)
	var port string
	switch scheme {
	case "http":
		port = ":80"
	case "https":
		port = ":443"
	default:
		return "", false
	}
	host = strings.ToLower(host)
	host = strings.TrimSuffix(host, port)
	host = strings.TrimSuffix(host, ":")
	if host == "" || strings.ContainsAny(host, "/?#@ ") {
		return "", false
	}
	p, ok := normalizePercent(path)
	if !ok {
		return "", false
	}
	p = removeDotSegments(p)
	if p == "" {
		p = "/"
	}
	return scheme + "://" + host + p, true
}

// normalizePercent upper-cases percent-encodings and decodes those of
// unreserved characters (RFC 3986 §6.2.2.1, §6.2.2.2). A malformed
// percent-encoding fails.
func normalizePercent(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		v := unhex(s[i+1])<<4 | unhex(s[i+2])
		if unreserved(v) {
			b.WriteByte(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(upperHex(s[i+1]))
			b.WriteByte(upperHex(s[i+2]))
		}
		i += 2
	}
	return b.String(), true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// unreserved reports whether c is an unreserved character of RFC 3986 §2.3.
func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments is the algorithm of RFC 3986 §5.2.4.
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out []string // segments, each with its leading "/"
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..":
			in = ""
		default:
			start := 0
			if in[0] == '/' {
				start = 1
			}
			end := strings.IndexByte(in[start:], '/')
			if end < 0 {
				end = len(in)
			} else {
				end += start
			}
			out = append(out, in[:end])
			in = in[end:]
		}
	}
	return strings.Join(out, "")
}

// Forwarded headers a trusted proxy may set, for [DPoPTrustedProxies].
const (
	// ForwardedHeader is the Forwarded header of RFC 7239: its proto and
	// host parameters.
	ForwardedHeader = "Forwarded"
	// XForwardedHeaders are X-Forwarded-Proto and X-Forwarded-Host.
	XForwardedHeaders = "X-Forwarded"
)

// proxyConfig names the proxies whose forwarded header says what URI the
// client used.
type proxyConfig struct {
	header   string // ForwardedHeader or XForwardedHeaders
	prefixes []netip.Prefix
}

// DPoPTrustedProxies makes the scheme and host of the URI a proof's htu is
// compared with come from a forwarded header, when, and only when, the
// request comes straight from one of the proxies named by cidrs (such as
// "10.0.0.0/8" or "192.0.2.7/32"; the address is the request's RemoteAddr).
// header is [ForwardedHeader] (RFC 7239: proto= and host=) or
// [XForwardedHeaders] (X-Forwarded-Proto and X-Forwarded-Host).
//
// With Forwarded, the rightmost element is the trusted proxy's; elements
// added by trusted proxies whose for= is itself a trusted proxy are walked
// past, leftwards, so a chain of trusted proxies works and an element a
// client wrote is never used. With X-Forwarded-*, the rightmost value of
// each is used: the proxy next to the server must set them. A missing
// parameter falls back to the request's own (TLS or not, the Host header).
//
// Default: no proxy is trusted; the scheme comes from the connection (TLS
// or not) and the host from the Host header, and forwarded headers are
// ignored, whoever sends them.
func DPoPTrustedProxies(header string, cidrs ...string) DPoPOption {
	return func(d *dpopConfig) {
		pc := &proxyConfig{header: header}
		if header != ForwardedHeader && header != XForwardedHeaders {
			d.errs = append(d.errs, fmt.Errorf("DPoPTrustedProxies: header %q is neither %q nor %q", header, ForwardedHeader, XForwardedHeaders))
		}
		if len(cidrs) == 0 {
			d.errs = append(d.errs, errors.New("DPoPTrustedProxies: no proxy address"))
		}
		for _, c := range cidrs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				d.errs = append(d.errs, fmt.Errorf("DPoPTrustedProxies: %q is not a CIDR prefix such as 10.0.0.0/8", c))
				continue
			}
			pc.prefixes = append(pc.prefixes, p.Masked())
		}
		d.proxies = pc
	}
}

// trusted reports whether addr, an IP address or host:port, is a trusted
// proxy.
func (pc *proxyConfig) trusted(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range pc.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// origin returns the scheme and host the client used for r.
func (pc *proxyConfig) origin(r *http.Request) (scheme, host string) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if pc == nil || !pc.trusted(r.RemoteAddr) {
		return scheme, host
	}
	var proto, fhost string
	if pc.header == ForwardedHeader {
		proto, fhost = pc.forwarded(r.Header["Forwarded"])
	} else {
		proto = lastValue(r.Header["X-Forwarded-Proto"])
		fhost = lastValue(r.Header["X-Forwarded-Host"])
	}
	if proto != "" {
		scheme = proto
	}
	if fhost != "" {
		host = fhost
	}
	return scheme, host
}

// lastValue returns the rightmost element of a comma-separated header that
// may occur several times.
func lastValue(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	v := lines[len(lines)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// forwarded reads the proto and host of the element of a Forwarded header
// (RFC 7239) that the first trusted proxy wrote: the rightmost, or left of
// it while an element's for= is itself a trusted proxy.
func (pc *proxyConfig) forwarded(lines []string) (proto, host string) {
	var elems []string
	for _, l := range lines {
		elems = append(elems, splitQuoted(l, ',')...)
	}
	for i := len(elems) - 1; i >= 0; i-- {
		params := forwardedParams(elems[i])
		proto, host = params["proto"], params["host"]
		if i == 0 || !pc.trusted(strings.Trim(params["for"], "[]")) {
			break
		}
	}
	return proto, host
}

// forwardedParams reads the name=value pairs of one Forwarded element;
// names are case-insensitive, values may be quoted strings.
func forwardedParams(elem string) map[string]string {
	out := make(map[string]string, 4)
	for _, pair := range splitQuoted(elem, ';') {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = strings.ReplaceAll(v[1:len(v)-1], `\`, "")
		}
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out
}

// splitQuoted splits s at sep outside quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
