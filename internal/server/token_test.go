package server

import (
	"strings"
	"testing"
	"time"
)

func TestVerifyToken(t *testing.T) {
	secret := []byte("0123456789abcdef-secret")
	now := time.Unix(1_800_000_000, 0)
	good, err := MintToken(secret, Claims{Expires: now.Add(time.Minute).Unix(), ClientSessions: 40})
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := MintToken(secret, Claims{Expires: now.Unix()})
	noExpiry, _ := MintToken(secret, Claims{})
	otherKey, _ := MintToken([]byte("another-secret-of-16+"), Claims{Expires: now.Add(time.Minute).Unix()})
	payload, sig, _ := strings.Cut(good, ".")
	tampered := payload[:len(payload)-2] + "x" + payload[len(payload)-1:] + "." + sig

	tests := []struct {
		name, token string
		ok          bool
	}{
		{"valid", good, true},
		{"empty", "", false},
		{"no signature", payload, false},
		{"expired", expired, false},
		{"no expiry", noExpiry, false},
		{"signed with another secret", otherKey, false},
		{"tampered claims", tampered, false},
		{"garbage", "a.b.c", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := verifyToken(secret, tt.token, now)
			if (err == nil) != tt.ok {
				t.Fatalf("verifyToken(%q) err = %v, want ok=%v", tt.token, err, tt.ok)
			}
			if tt.ok && c.ClientSessions != 40 {
				t.Errorf("claims %+v lost client_sessions", c)
			}
		})
	}
}
