package process

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// CheckLocal checks that this backend, which isolates nothing (whoever
// reaches the server runs programs as its user), serves this machine
// only: it must be asked for by name (unsafe, -unsafe-no-sandbox), the
// server listens on loopback (addr), and it is refused with anything that
// serves others, named in public: other sites' origins, public host
// names, a proxy in front, tokens for embedding sites. The server also
// answers 403 to any request a proxy forwarded (server.Config's
// LocalOnly).
func CheckLocal(unsafe bool, addr string, public []string) error {
	if !unsafe {
		return errors.New("-backend process isolates nothing (every session runs programs as this server's user): give -unsafe-no-sandbox to run it, for development on this machine only")
	}
	if !loopback(addr) {
		return fmt.Errorf("-backend process isolates nothing and only listens on loopback, not %q", addr)
	}
	if len(public) > 0 {
		return fmt.Errorf("-backend process isolates nothing and serves this machine only: refused with %s, which serve others", strings.Join(public, ", "))
	}
	return nil
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
