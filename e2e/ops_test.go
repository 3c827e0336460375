package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Operations: what an operator and a load balancer see (health, readiness,
// metrics) and the drain mode that lets an upgrade spare live lessons.

// get fetches url and returns the status code and the body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// readyz is the status code and body of /readyz.
func (s *testServer) readyz(t *testing.T) (int, string) {
	t.Helper()
	return get(t, s.URL()+"/readyz")
}

// waitReadyz polls /readyz until it answers want, failing after timeout,
// and returns the last body and how long it took.
func (s *testServer) waitReadyz(t *testing.T, want int, timeout time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		code, body := s.readyz(t)
		if code == want {
			return body, time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("/readyz still %d %q after %v, want %d", code, body, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metricValue finds one sample in a Prometheus text exposition: name with
// exactly the labels given (`reason="exited"`, or "" for none). ok is false
// when the sample is absent.
func metricValue(t *testing.T, exposition, name, labels string) (v float64, ok bool) {
	t.Helper()
	series := name
	if labels != "" {
		series += "{" + labels + "}"
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(exposition)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("sample %s: %v", series, err)
	}
	return v, true
}

// requireMetric fails unless the sample is there and check holds for it.
func requireMetric(t *testing.T, exposition, name, labels, want string, check func(float64) bool) {
	t.Helper()
	v, ok := metricValue(t, exposition, name, labels)
	if !ok {
		t.Errorf("no sample %s{%s} in /metrics", name, labels)
		return
	}
	if !check(v) {
		t.Errorf("%s{%s} = %v, want %s", name, labels, v, want)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	s := startServer(t, "-runtime", "runc", "-pool", "0", "-max-sessions", "1")
	if code, body := get(t, s.URL()+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	if code, body := s.readyz(t); code != http.StatusOK {
		t.Errorf("/readyz with a free place = %d %q, want 200", code, body)
	}

	// Capacity full: a load balancer must send the next person elsewhere.
	c, _ := s.openSession(t, defaultCols, defaultRows)
	code, body := s.readyz(t)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "busy") {
		t.Errorf("/readyz at capacity = %d %q, want 503 saying all sandboxes are busy", code, body)
	}
	if code, _ := get(t, s.URL()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz at capacity = %d, want 200: the process is alive", code)
	}

	c.closeNormally()
	s.waitReadyz(t, http.StatusOK, 5*time.Second)
}

func TestMetrics(t *testing.T) {
	s := startServer(t, "-runtime", "runc", "-pool", "1", "-max-sessions", "1", "-queue-timeout", "1s")
	s.waitPoolReady(t)
	c, _ := s.openSession(t, defaultCols, defaultRows)
	if got := c.eval(t, "1+1"); got != "2" {
		t.Fatalf("1+1 printed %q", got)
	}
	refused := s.connect(t) // over the cap: it waits in line until -queue-timeout
	refused.hello(t, defaultCols, defaultRows)
	if e := refused.waitEvent(t, "error", readyWait); e.errorCode() != "capacity" {
		t.Fatalf("second session: %s, want a capacity refusal", e.raw)
	}
	c.send(t, "System.halt()\r")
	c.waitEvent(t, "exit", evalWait)
	s.waitStatus(t, "free of sessions", eventWait, func(st serverStatus) bool { return st.Sessions.Active == 0 })

	resp, err := httpClient.Get(s.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics = %s %q, want 200 in the text format", resp.Status, resp.Header.Get("Content-Type"))
	}
	m := string(body)
	one := func(v float64) bool { return v == 1 }
	positive := func(v float64) bool { return v > 0 }
	requireMetric(t, m, "iexbox_sessions_active", "", "0", func(v float64) bool { return v == 0 })
	requireMetric(t, m, "iexbox_sessions_max", "", "1", one)
	requireMetric(t, m, "iexbox_sessions_total", `reason="exited"`, "1", one)
	requireMetric(t, m, "iexbox_sessions_refused_total", `reason="capacity"`, "1", one)
	requireMetric(t, m, "iexbox_time_to_prompt_seconds_count", `path="warm"`, "1 (the session took the warm sandbox)", one)
	requireMetric(t, m, "iexbox_session_duration_seconds_count", "", "1", one)
	requireMetric(t, m, "iexbox_terminal_bytes_total", `direction="in"`, "> 0", positive)
	requireMetric(t, m, "iexbox_terminal_bytes_total", `direction="out"`, "> 0", positive)
	requireMetric(t, m, "iexbox_pool_size", "", "1", one)
	for _, op := range []string{"create", "attach", "start", "resize", "remove"} {
		requireMetric(t, m, "iexbox_docker_request_seconds_count", `op="`+op+`"`, "> 0", positive)
	}
	if !strings.Contains(m, "\ngo_goroutines ") || !strings.Contains(m, "\nprocess_resident_memory_bytes ") {
		t.Error("/metrics lacks the Go runtime's and the process's collectors")
	}
	if strings.Contains(m, "1+1") || strings.Contains(m, "System.halt") {
		t.Error("/metrics shows what the user typed")
	}
}

// TestMetricsAddr: with -metrics-addr, /metrics is served there only, so
// it can stay off the public listener.
func TestMetricsAddr(t *testing.T) {
	private := freeAddr(t)
	s := startServer(t, "-runtime", "runc", "-pool", "0", "-metrics-addr", private)
	if code, _ := get(t, s.URL()+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the public address = %d, want 404", code)
	}
	code, body := get(t, "http://"+private+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, "\niexbox_sessions_max ") {
		t.Errorf("/metrics on -metrics-addr = %d, want 200 with iexbox_sessions_max", code)
	}
	if code, _ := get(t, "http://"+private+"/status"); code != http.StatusNotFound {
		t.Errorf("/status on -metrics-addr = %d, want 404: only metrics are served there", code)
	}
	if code, _ := get(t, s.URL()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz on the public address = %d, want 200", code)
	}
}

// requireRefusedUnavailable connects, says hello and requires an error
// unavailable with retry_after and close 4005 within within; it returns
// the error event and how long the refusal took.
func requireRefusedUnavailable(t *testing.T, s *testServer, within time.Duration) (event, time.Duration) {
	t.Helper()
	start := time.Now()
	c := s.connect(t)
	c.hello(t, defaultCols, defaultRows)
	e := c.waitEvent(t, "error", within)
	took := time.Since(start)
	if e.errorCode() != "unavailable" || e.Message == "" || e.RetryAfter <= 0 {
		t.Errorf("refusal %s, want code unavailable with a message and retry_after", e.raw)
	}
	c.requireClose(t, 4005, eventWait)
	return e, took
}

// TestDrain: with -drain-timeout, SIGTERM refuses new sessions at once and
// lets live ones run, warned, until the timeout; a second SIGTERM ends them
// at once.
func TestDrain(t *testing.T) {
	const drain = 4 * time.Second
	t.Run("until the timeout", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "-runtime", "runc", "-drain-timeout", drain.String())
		s.waitPoolReady(t)
		c, ready := s.openSession(t, defaultCols, defaultRows)
		sent := time.Now()
		s.signal(t, syscall.SIGTERM)

		w := c.waitEvent(t, "warning", eventWait)
		if w.Reason != "shutdown" || w.SecondsLeft < 3 || w.SecondsLeft > 4 {
			t.Errorf("warning %s, want reason shutdown and seconds_left 4", w.raw)
		}
		if _, took := s.waitReadyz(t, http.StatusServiceUnavailable, time.Second); took > 500*time.Millisecond {
			t.Errorf("/readyz went 503 %v after SIGTERM, want at once", took)
		}
		if _, took := requireRefusedUnavailable(t, s, eventWait); took > time.Second {
			t.Errorf("a new session was refused after %v, want at once", took)
		}
		// The lesson goes on meanwhile.
		if got := c.eval(t, "1+1"); got != "2" {
			t.Errorf("1+1 while draining printed %q, want 2", got)
		}
		if s.waitExit(drain / 2) {
			t.Fatal("the server exited before the drain timeout, with a session live")
		}

		exit := c.waitEvent(t, "exit", drain+eventWait)
		if exit.Reason != "shutdown" {
			t.Errorf("exit %s, want reason shutdown", exit.raw)
		}
		if took := exit.at.Sub(sent); took < drain-500*time.Millisecond || took > drain+2*time.Second {
			t.Errorf("session ended %v after SIGTERM, want about the drain timeout of %v", took, drain)
		}
		c.requireClose(t, closeShutdown, eventWait)
		if !s.waitExit(serverStopWait) {
			t.Fatalf("server still running %v after the drain", serverStopWait)
		}
		requireSessionGone(t, ready.Session, time.Second)
	})
	t.Run("second SIGTERM", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "-runtime", "runc", "-drain-timeout", "1m")
		s.waitPoolReady(t)
		c, _ := s.openSession(t, defaultCols, defaultRows)
		s.signal(t, syscall.SIGTERM)
		if w := c.waitEvent(t, "warning", eventWait); w.Reason != "shutdown" || w.SecondsLeft < 59 {
			t.Errorf("warning %s, want reason shutdown and seconds_left 60", w.raw)
		}
		s.waitReadyz(t, http.StatusServiceUnavailable, time.Second)

		again := time.Now()
		s.signal(t, syscall.SIGTERM)
		if exit := c.waitEvent(t, "exit", eventWait); exit.Reason != "shutdown" {
			t.Errorf("exit %s, want reason shutdown", exit.raw)
		}
		code, closed := c.waitClose(t, eventWait)
		if code != closeShutdown {
			t.Errorf("close code %d, want %d", code, closeShutdown)
		}
		if took := closed.Sub(again); took > 2*time.Second {
			t.Errorf("closed %v after the second SIGTERM, want at once", took)
		}
		if !s.waitExit(serverStopWait) {
			t.Fatalf("server still running %v after the second SIGTERM", serverStopWait)
		}
	})
	t.Run("no session", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "-runtime", "runc", "-drain-timeout", "1m")
		sent := time.Now()
		s.signal(t, syscall.SIGTERM)
		if !s.waitExit(serverStopWait) {
			t.Fatalf("server with nothing to drain still running %v after SIGTERM", serverStopWait)
		}
		if took := time.Since(sent); took > 5*time.Second {
			t.Errorf("server with nothing to drain took %v to exit, want no drain wait", took)
		}
	})
}
