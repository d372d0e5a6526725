package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/unicode/runenames"
	"golang.org/x/text/width"
)

// Limits of an email address, in bytes of its canonical form.
const (
	maxEmailBytes = 254 // RFC 5321 §4.5.3.1.3: a 256-octet path, less the angle brackets
	maxLocalBytes = 64  // RFC 5321 §4.5.3.1.1
	// maxEmailInput bounds the input before any work: a fullwidth
	// spelling of a 254-byte address takes three bytes a character.
	maxEmailInput = 4 * maxEmailBytes
)

// errInvalidEmail is the cause of every refused email address; the
// message of the error that wraps it says what is wrong.
var errInvalidEmail = errors.New("invalid email")

// emailError is an address refused for a reason the user can fix. Its
// message names the field and the reason; it wraps errInvalidEmail.
func emailError(format string, args ...any) error {
	return &inputError{cause: errInvalidEmail, msg: fmt.Sprintf(format, args...)}
}

// domains maps and checks the domain of an address: UTS #46 mapping for
// lookup (case, width, NFC; the full stops 。．｡ become dots), the IDNA2008
// validity rules of RFC 5891 (hyphens, joiners, the Bidi Rule of RFC 5893),
// letters, digits and hyphens only (STD 3), and the DNS lengths (labels of
// at most 63 bytes, at most 253 in all, in the ASCII form).
var domains = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.CheckHyphens(true),
	idna.CheckJoiners(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

// domainRunes tells, one code point at a time, which ones a domain name
// may not hold at all, to name them in an error.
var domainRunes = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(true))

// canonicalEmail returns the identity of an email address: the one form
// that every spelling of the same address maps to, and that the users
// table keeps unique. Two inputs name one account exactly when they have
// the same canonical form.
//
// The local part (before the @) is a username under PRECIS
// UsernameCaseMapped (RFC 8265 §3.3): fullwidth characters become their
// ASCII forms, case is mapped to lower case, the result is in NFC, and
// what a username may not contain is refused (spaces, controls, symbols,
// invisible joiners out of context, compatibility characters such as
// U+212A KELVIN SIGN). It must then be a dot-atom (RFC 5322 §3.2.3, with
// the UTF-8 of RFC 6532): no quoted strings, no comments. The domain
// goes through IDNA (see domains) and is kept in its Unicode form, so
// bücher.example and xn--bcher-kva.example are one domain.
//
// The error, which wraps errInvalidEmail, says what to fix; input that is
// not UTF-8 is refused, never repaired.
func canonicalEmail(s string) (string, error) {
	switch {
	case s == "":
		return "", emailError("email is empty")
	case len(s) > maxEmailInput:
		return "", emailError("email is too long: at most %d bytes", maxEmailBytes)
	case !utf8.ValidString(s):
		return "", emailError("email is not valid UTF-8")
	case strings.Count(s, "@") != 1:
		return "", emailError("email must contain exactly one @ (quoted local parts are not accepted)")
	}
	at := strings.IndexByte(s, '@')
	local, err := canonicalLocal(s[:at])
	if err != nil {
		return "", err
	}
	domain, err := canonicalDomain(s[at+1:])
	if err != nil {
		return "", err
	}
	id := local + "@" + domain
	if len(id) > maxEmailBytes {
		return "", emailError("email is too long: %d bytes, at most %d", len(id), maxEmailBytes)
	}
	return id, nil
}

// canonicalLocal maps and checks the part before the @.
func canonicalLocal(s string) (string, error) {
	if s == "" {
		return "", emailError("email has nothing before the @")
	}
	// RFC 8265 §3.3.2 prepares a username by width mapping and then
	// requires every code point to be in the IdentifierClass, which
	// excludes compatibility characters (HasCompat, RFC 8264 §9.17).
	// x/text checks the class only after case mapping and normalisation,
	// which turn U+212A KELVIN SIGN into an ASCII k; check it here.
	for _, r := range width.Fold.String(s) {
		if norm.NFKC.String(string(r)) != string(r) {
			return "", emailError("email: the part before the @ contains %s, a compatibility character, which a username may not contain (RFC 8265)", runeName(r))
		}
	}
	out, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		for _, r := range s {
			if _, err := precis.UsernameCaseMapped.String(string(r)); err != nil {
				return "", emailError("email: the part before the @ contains %s, which a username may not contain (RFC 8265)", runeName(r))
			}
		}
		return "", emailError("email: the part before the @ is not a valid username (RFC 8265): it mixes left-to-right and right-to-left characters, or uses a joiner out of place")
	}
	if strings.HasPrefix(out, ".") || strings.HasSuffix(out, ".") || strings.Contains(out, "..") {
		return "", emailError("email: the part before the @ may not start or end with a dot, or have two dots in a row")
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; c < utf8.RuneSelf && c != '.' && !isAtext(c) {
			return "", emailError("email: the part before the @ contains %q, which an address may only have inside quotes (not accepted)", c)
		}
	}
	if len(out) > maxLocalBytes {
		return "", emailError("email: the part before the @ is %d bytes, at most %d", len(out), maxLocalBytes)
	}
	return out, nil
}

// canonicalDomain maps and checks the part after the @.
func canonicalDomain(s string) (string, error) {
	if s == "" {
		return "", emailError("email has nothing after the @")
	}
	ascii, err := domains.ToASCII(s)
	if err != nil {
		for _, r := range s {
			if r == '.' {
				continue
			}
			if _, err := domainRunes.ToASCII("a" + string(r) + "a"); err != nil {
				return "", emailError("email: the domain contains %s, which a domain name may not contain", runeName(r))
			}
		}
		return "", emailError("email: the domain is not a valid domain name: each label has letters, digits or hyphens, no hyphen at either end, at most 63 bytes, and does not mix left-to-right and right-to-left letters (IDNA, RFC 5891)")
	}
	labels := strings.Split(ascii, ".")
	last := labels[len(labels)-1]
	switch {
	case last == "":
		return "", emailError("email: the domain ends with a dot")
	case len(labels) < 2:
		return "", emailError("email: the domain needs a dot, as in example.com")
	case strings.Trim(last, "0123456789") == "":
		return "", emailError("email: the domain's last label is all digits; IP addresses are not accepted")
	}
	return domains.ToUnicode(ascii)
}

// isAtext reports whether c, an ASCII byte, may appear in a dot-atom
// (RFC 5322 §3.2.3).
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// runeName names r for an error message, as U+212A KELVIN SIGN.
func runeName(r rune) string {
	if name := runenames.Name(r); name != "" && !strings.HasPrefix(name, "<") {
		return fmt.Sprintf("U+%04X %s", r, name)
	}
	return fmt.Sprintf("U+%04X", r)
}
