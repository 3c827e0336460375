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
	tooLong, _ := MintToken(secret, Claims{Expires: now.Add(25 * time.Hour).Unix(), ClientSessions: 40})
	badAddr, _ := MintToken(secret, Claims{Expires: now.Add(time.Minute).Unix(), Addr: "somewhere"})

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
		{"expiry beyond the longest lifetime", tooLong, false},
		{"addr that is no address", badAddr, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := verifyToken(secret, tt.token, now, 24*time.Hour)
			if (err == nil) != tt.ok {
				t.Fatalf("verifyToken(%q) err = %v, want ok=%v", tt.token, err, tt.ok)
			}
			if tt.ok && c.ClientSessions != 40 {
				t.Errorf("claims %+v lost client_sessions", c)
			}
		})
	}
}

func TestClaimsAdmit(t *testing.T) {
	for _, tt := range []struct {
		addr, key string
		want      bool
	}{
		{"", "198.51.100.7", true},
		{"198.51.100.7", "198.51.100.7", true},
		{"198.51.100.7", "198.51.100.8", false},
		{"::ffff:198.51.100.7", "198.51.100.7", true},
		{"2001:db8:1:2::5", "2001:db8:1:2::/64", true}, // the same /64
		{"2001:db8:1:3::5", "2001:db8:1:2::/64", false},
	} {
		if got := (Claims{Addr: tt.addr}).admits(tt.key); got != tt.want {
			t.Errorf("a token for %q admits client %q: %v, want %v", tt.addr, tt.key, got, tt.want)
		}
	}
}
