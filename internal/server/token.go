package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"iexbox/internal/admission"
)

// Access tokens let an embedding site allow its own visitors only. The
// site's server mints one per page view with a secret it shares with
// iexbox; the page passes it in the hello (never in a URL). A token is
//
//	base64url(claims JSON) "." base64url(HMAC-SHA256(secret, first part))
//
// without padding. docs/security.md shows how to mint one.

// Claims are what a token grants.
type Claims struct {
	// Expires is when the token stops working, in Unix seconds. Required.
	Expires int64 `json:"exp"`
	// ClientSessions and ClientRate, when set, replace the per-client
	// limits for sessions opened with this token (a classroom behind one
	// address needs more than a single visitor).
	ClientSessions int `json:"client_sessions,omitempty"`
	ClientRate     int `json:"client_rate,omitempty"`
	// Addr, when set, binds the token to one client: an IPv4 address, or
	// an IPv6 address standing for its /64, as the per-client limits count.
	Addr string `json:"addr,omitempty"`
	// Teach lets the token open classes (POST /classes); Teacher, when
	// set, names the teacher, whose open classes are then counted
	// together across tokens.
	Teach   bool   `json:"teach,omitempty"`
	Teacher string `json:"teacher,omitempty"`
}

// admits reports whether a client key may use the token.
func (c Claims) admits(clientKey string) bool {
	if c.Addr == "" {
		return true
	}
	return admission.KeyOfText(c.Addr) == clientKey
}

// errBadToken is every token failure: the client learns no more than that.
var errBadToken = errors.New("access token missing, invalid or expired")

// MintToken signs claims with secret.
func MintToken(secret []byte, c Claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(sign(secret, p)), nil
}

// verifyToken checks a token's signature and expiry; an expiry more than
// maxLifetime ahead (when maxLifetime > 0) is refused too: a token that
// leaked must not work for a year.
func verifyToken(secret []byte, token string, now time.Time, maxLifetime time.Duration) (Claims, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Claims{}, errBadToken
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, sign(secret, p)) {
		return Claims{}, errBadToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Claims{}, errBadToken
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil || c.Expires == 0 || now.Unix() >= c.Expires {
		return Claims{}, errBadToken
	}
	if maxLifetime > 0 && c.Expires > now.Add(maxLifetime).Unix() {
		return Claims{}, errBadToken
	}
	if c.Addr != "" && admission.KeyOfText(c.Addr) == "" {
		return Claims{}, errBadToken
	}
	return c, nil
}

func sign(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}
