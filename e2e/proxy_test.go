package e2e

// The shipped reverse-proxy configs, deploy/haproxy.cfg and
// deploy/nginx.conf, run by Debian's own haproxy and nginx in front of two
// servers set up as docs/deploy.md sets them up. Each proxy runs a copy of
// its file with only the listen ports, the certificate paths, the servers'
// addresses and their instance names rewritten, so what the test proves
// holds for the files as shipped.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"iexbox/internal/client"
)

// publicHost is the name the shipped configs serve; clients reach it
// through a dialer that goes to the proxy's loopback port instead of DNS.
const publicHost = "learn.example.org"

// Bounds on a proxy process.
const (
	// proxyStartWait bounds a proxy's start until /healthz answers
	// through it.
	proxyStartWait = 15 * time.Second
	// proxyStopWait bounds its exit after SIGTERM.
	proxyStopWait = 5 * time.Second
)

// TestProxies: through each proxy, as a browser on another host would
// reach it (wss:// on the public name, from a loopback address of its own):
//   - a client's forged X-Forwarded-For does not change the address the
//     servers count: with -client-sessions 1, a second session from the
//     same address that names another one in the header is refused
//     rate_limited (and the server's log names the real address), while
//     two clients from other addresses that send no header are a client
//     each, not one shared proxy address;
//   - ?instance= reaches the named server, whose name comes back in ready;
//   - /metrics is refused;
//   - a session works end to end: hello, ready, the prompt, 1+1 is 2.
//
// The documentation addresses in forged headers are never dialled: every
// connection is loopback.
func TestProxies(t *testing.T) {
	haproxy, nginx := proxyBinary(t, "haproxy"), proxyBinary(t, "nginx")
	base := uniqueInstance(t)
	flags := []string{"-runtime", "runc", "-origins", "https://" + publicHost,
		"-trusted-proxies", "127.0.0.1", "-client-sessions", "1"}
	web1 := startServer(t, append([]string{"-instance", base + "-web1"}, flags...)...)
	web2 := startServer(t, append([]string{"-instance", base + "-web2"}, flags...)...)
	certs := newProxyCerts(t)

	for _, tc := range []struct {
		name    string
		start   func(t *testing.T, bin string, certs proxyCerts, web1, web2 *testServer) *reverseProxy
		bin     string
		clients string // loopback /24 its clients come from
	}{
		{"haproxy", startHAProxy, haproxy, "127.0.1."},
		{"nginx", startNginx, nginx, "127.0.2."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.start(t, tc.bin, certs, web1, web2)
			checkProxy(t, p, web1, web2, tc.clients)
		})
	}
}

// checkProxy runs the checks of TestProxies through p, with clients from
// the loopback addresses prefix+1 and up, and ends every session it began.
func checkProxy(t *testing.T, p *reverseProxy, web1, web2 *testServer, prefix string) {
	alice, bob, carol, dave := prefix+"1", prefix+"2", prefix+"3", prefix+"4"
	forged := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	var clients []*wsClient
	// Before the proxy stops: the next proxy starts with servers at rest.
	t.Cleanup(func() {
		for _, c := range clients {
			c.closeNormally()
		}
		for _, s := range []*testServer{web1, web2} {
			s.waitStatus(t, "free of sessions", readyWait, func(st serverStatus) bool { return st.Sessions.Active == 0 })
		}
	})
	open := func(local, instance string, header http.Header) (*wsClient, event) {
		t.Helper()
		c := p.connect(t, local, instance, header)
		clients = append(clients, c)
		c.hello(t, defaultCols, defaultRows)
		e := c.firstEvent(t, readyWait, "ready", "error")
		if e.Type == "ready" {
			c.waitPrompt(t, readyWait)
		}
		return c, e
	}
	requireReady := func(who string, e event, s *testServer) {
		t.Helper()
		if e.Type != "ready" {
			t.Fatalf("%s: %s, want ready", who, e.raw)
		}
		if e.Instance != s.Instance {
			t.Errorf("%s: ready names instance %q, want %q", who, e.Instance, s.Instance)
		}
	}

	// A session end to end, routed to web1 by name, from a client that
	// claims to be 198.51.100.7.
	a, ready := open(alice, web1.Instance, forged("198.51.100.7"))
	requireReady("the session of "+alice, ready, web1)
	requireEval(t, a, "1+1", "2")

	// The same client claiming another address is still the same client:
	// over -client-sessions 1.
	_, e := open(alice, web1.Instance, forged("198.51.100.8"))
	if e.Type != "error" || e.errorCode() != "rate_limited" {
		t.Errorf("a second session from %s, claiming to be 198.51.100.8: %s, want error rate_limited: "+
			"the server counted the address the client wrote", alice, e.raw)
	}
	refusal := regexp.MustCompile(`(?m)msg=refused code=rate_limited client=` + regexp.QuoteMeta(alice) + `$`)
	if !web1.waitLog(refusal, eventWait) {
		t.Errorf("web1's log has no rate_limited refusal that names the client %s", alice)
	}

	// Clients that claim nothing are counted by their own address, not as
	// one shared proxy address: each has its session.
	for _, local := range []string{bob, carol} {
		_, ready := open(local, web1.Instance, nil)
		requireReady("the session of "+local, ready, web1)
	}

	// A session routed to web2 by name, end to end.
	d, ready := open(dave, web2.Instance, nil)
	requireReady("the session of "+dave+" on ?instance="+web2.Instance, ready, web2)
	requireEval(t, d, "1+1", "2")

	// /metrics stays private, however it is spelt.
	for _, path := range []string{"/metrics", "/%6Detrics"} {
		code, body := p.get(t, alice, path)
		if code != http.StatusNotFound || strings.Contains(body, "iexbox_") {
			t.Errorf("GET %s through %s: %d, want 404 without metrics; body %q", path, p.name, code, tail(body))
		}
	}
}

// waitLog reports whether re matches the server's log within timeout: a
// line may reach the log after the client has heard of what it records.
func (s *testServer) waitLog(re *regexp.Regexp, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !re.MatchString(s.logs.String()) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// proxyBinary is the path of Debian's haproxy or nginx. Without it the
// test skips, except under CI=true (make e2e installs both).
func proxyBinary(t *testing.T, name string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if path := "/usr/sbin/" + name; isExecutable(path) {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no %s (CI=true: make e2e installs it with scripts/proxies-up.sh)", name)
	}
	t.Skipf("no %s; install it with scripts/proxies-up.sh", name)
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// proxyCerts are a self-signed certificate for publicHost and its key, in
// the files each proxy reads, and the pool its clients trust.
type proxyCerts struct {
	cert, key string // PEM files (nginx)
	combined  string // the certificate then the key, one file (HAProxy)
	roots     *x509.CertPool
}

func newProxyCerts(t *testing.T) proxyCerts {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: publicHost},
		DNSNames:              []string{publicHost},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	dir := t.TempDir()
	c := proxyCerts{
		cert:     filepath.Join(dir, "cert.pem"),
		key:      filepath.Join(dir, "key.pem"),
		combined: filepath.Join(dir, "haproxy.pem"),
		roots:    x509.NewCertPool(),
	}
	c.roots.AddCert(cert)
	writeFile(t, c.cert, certPEM)
	writeFile(t, c.key, keyPEM)
	writeFile(t, c.combined, append(certPEM, keyPEM...))
	return c
}

// writeFile writes a file only its owner may read.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// shippedConfig is a config file of deploy/ with each old string replaced
// by its new one (pairs: old, new, ...). An old string that begins or ends
// with a letter or digit matches only as a whole there (127.0.0.1:80 is
// not the start of 127.0.0.1:8081). Each must occur: a shipped file that
// changed under the test fails it rather than run half rewritten.
func shippedConfig(t *testing.T, file string, pairs ...string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		re := regexp.MustCompile(wholeWord(pairs[i]))
		if !re.MatchString(text) {
			t.Fatalf("%s no longer holds %q: update %s", file, pairs[i], t.Name())
		}
		text = re.ReplaceAllLiteralString(text, pairs[i+1])
	}
	return text
}

// wholeWord is a pattern matching s where it is not part of a longer word.
func wholeWord(s string) string {
	word := regexp.MustCompile(`^\w`)
	pattern := regexp.QuoteMeta(s)
	if word.MatchString(s) {
		pattern = `\b` + pattern
	}
	if word.MatchString(s[len(s)-1:]) {
		pattern += `\b`
	}
	return pattern
}

// startHAProxy runs haproxy with deploy/haproxy.cfg in front of web1 and web2.
func startHAProxy(t *testing.T, bin string, certs proxyCerts, web1, web2 *testServer) *reverseProxy {
	t.Helper()
	https, plain := freeAddr(t), freeAddr(t)
	cfg := shippedConfig(t, "deploy/haproxy.cfg",
		"127.0.0.1:443", https,
		"127.0.0.1:80", plain,
		"127.0.0.1:8081", web1.Addr,
		"127.0.0.1:8082", web2.Addr,
		"/etc/ssl/iexbox/haproxy.pem", certs.combined,
		"web1", web1.Instance,
		"web2", web2.Instance)
	file := filepath.Join(t.TempDir(), "haproxy.cfg")
	writeFile(t, file, []byte(cfg))
	return runProxy(t, "haproxy", https, certs, bin, "-db", "-f", file)
}

// startNginx runs nginx with deploy/nginx.conf, inside a minimal main
// config of its own, in front of web1 and web2. Nothing of the system's
// nginx is used: its pid, logs and temp files stay in a temp folder.
func startNginx(t *testing.T, bin string, certs proxyCerts, web1, web2 *testServer) *reverseProxy {
	t.Helper()
	https, plain := freeAddr(t), freeAddr(t)
	site := shippedConfig(t, "deploy/nginx.conf",
		"127.0.0.1:443", https,
		"127.0.0.1:80", plain,
		"127.0.0.1:8081", web1.Addr,
		"127.0.0.1:8082", web2.Addr,
		"/etc/ssl/iexbox/cert.pem", certs.cert,
		"/etc/ssl/iexbox/key.pem", certs.key,
		"web1", web1.Instance,
		"web2", web2.Instance)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "iexbox.conf"), []byte(site))
	wrapper := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
    access_log /dev/stdout;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    # deploy/nginx.conf lives inside nginx's http block.
    include %[1]s/iexbox.conf;
}
`, dir)
	file := filepath.Join(dir, "nginx.conf")
	writeFile(t, file, []byte(wrapper))
	return runProxy(t, "nginx", https, certs, bin, "-p", dir, "-c", file, "-e", "stderr", "-g", "daemon off;")
}

// reverseProxy is a proxy process started by runProxy.
type reverseProxy struct {
	name  string
	https string // its TLS listener, loopback
	roots *x509.CertPool

	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has exited
	exitErr error         // from cmd.Wait, valid once exited is closed
}

// runProxy checks the proxy's config (bin with -c for HAProxy, -t for
// nginx, then args), starts bin with args in its own process group, its
// output in the test's, and returns once /healthz answers through it. The
// cleanup stops it with SIGTERM (the whole group with SIGKILL if that
// fails) and fails the test if it died before.
func runProxy(t *testing.T, name, https string, certs proxyCerts, bin string, args ...string) *reverseProxy {
	t.Helper()
	check := "-c"
	if name == "nginx" {
		check = "-t"
	}
	if out, err := exec.Command(bin, append([]string{check}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, check, err, out)
	}
	p := &reverseProxy{name: name, https: https, roots: certs.roots, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = t.Output()
	p.cmd.Stderr = t.Output()
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // nginx's workers with it
	p.cmd.WaitDelay = proxyStopWait
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })
	p.waitHealthy(t)
	return p
}

func (p *reverseProxy) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		t.Errorf("%s exited during the test: %v", p.name, p.exitErr)
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(proxyStopWait):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		t.Errorf("%s did not exit within %v of SIGTERM", p.name, proxyStopWait)
	}
}

func (p *reverseProxy) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(proxyStartWait)
	for {
		code, err := p.tryGet("127.0.0.1", "/healthz")
		if code == http.StatusOK {
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited during start-up: %v", p.name, p.exitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz through %s did not answer 200 within %v (last: %d, %v)", p.name, proxyStartWait, code, err)
		}
	}
}

// dialFrom dials the proxy's TLS listener from the loopback address
// local, whatever address the caller asked for: publicHost is the proxy.
func (p *reverseProxy) dialFrom(local string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return nd.DialContext(ctx, network, p.https)
	}
}

// connect opens a WebSocket speaking iexbox.v1 to wss://publicHost/ws
// (?instance= when instance is not empty) from the loopback address local,
// with the browser's Origin and extra headers, and sends nothing.
func (p *reverseProxy) connect(t *testing.T, local, instance string, header http.Header) *wsClient {
	t.Helper()
	u := "wss://" + publicHost + "/ws"
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Origin", "https://"+publicHost)
	c, resp, err := dialClient(t, u, client.Options{Header: h, Instance: instance,
		NetDialContext: p.dialFrom(local), TLSClientConfig: &tls.Config{RootCAs: p.roots}})
	if err != nil {
		t.Fatalf("dial %s through %s from %s: %v (response: %v)", u, p.name, local, err, responseSummary(resp))
	}
	if got := c.conn.Subprotocol(); got != subprotocol {
		t.Fatalf("%s through %s: subprotocol %q, want %q", u, p.name, got, subprotocol)
	}
	return c
}

// tryGet fetches https://publicHost+path through the proxy from the
// loopback address local and returns the status code.
func (p *reverseProxy) tryGet(local, path string) (int, error) {
	code, _, err := p.fetch(local, path)
	return code, err
}

// get is tryGet with the body, failing the test on an error.
func (p *reverseProxy) get(t *testing.T, local, path string) (int, string) {
	t.Helper()
	code, body, err := p.fetch(local, path)
	if err != nil {
		t.Fatalf("GET %s through %s: %v", path, p.name, err)
	}
	return code, body
}

func (p *reverseProxy) fetch(local, path string) (int, string, error) {
	tr := &http.Transport{Proxy: nil, DialContext: p.dialFrom(local), TLSClientConfig: &tls.Config{RootCAs: p.roots}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The request line keeps the path as spelt (url.Parse keeps a RawPath).
	resp, err := client.Get("https://" + publicHost + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
