package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsExposition(t *testing.T) {
	m := New()
	m.Watch(Gauges{
		SessionsActive: func() int { return 3 },
		SessionsMax:    func() int { return 300 },
		PoolSize:       func() int { return 4 },
		PoolReady:      func() int { return 2 },
		PoolStarting:   func() int { return 1 },
	})
	m.SessionStarted(true, 4*time.Millisecond)
	m.SessionStarted(false, 800*time.Millisecond)
	m.SessionEnded("exited", time.Minute)
	m.Refused("capacity")
	m.TerminalBytes(10, 2000)
	m.DockerRequest("create", 20*time.Millisecond, nil)
	m.DockerRequest("start", time.Second, errors.New("engine gone"))

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`iexbox_sessions_active 3`,
		`iexbox_sessions_max 300`,
		`iexbox_pool_ready 2`,
		`iexbox_sessions_total{reason="exited"} 1`,
		`iexbox_sessions_refused_total{reason="capacity"} 1`,
		`iexbox_time_to_prompt_seconds_count{path="warm"} 1`,
		`iexbox_time_to_prompt_seconds_count{path="cold"} 1`,
		`iexbox_terminal_bytes_total{direction="out"} 2000`,
		`iexbox_docker_request_seconds_count{op="create"} 1`,
		`iexbox_docker_errors_total{op="start"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestMetricsWithoutPool(t *testing.T) {
	m := New()
	m.Watch(Gauges{SessionsActive: func() int { return 0 }, SessionsMax: func() int { return 1 }})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(rec.Body.String(), "iexbox_pool_") {
		t.Error("pool gauges exported without a pool")
	}
}
