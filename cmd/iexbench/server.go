package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// httpClient never uses a proxy: the benchmark only talks to loopback.
var httpClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 5 * time.Second}

// server is one running iexbox server the benchmark drives.
type server struct {
	name   string // warm, cold or process
	ws     string // its /ws URL
	status string // its /status URL
	port   string
	pid    int // 0 when unknown: no memory figures
}

// newServer checks that wsURL is a loopback WebSocket URL and derives the
// /status URL on the same host and port.
func newServer(name, wsURL string, pid int) (*server, error) {
	u, err := url.Parse(wsURL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") {
		return nil, fmt.Errorf("-%s %q: want ws://host:port/ws", name, wsURL)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, fmt.Errorf("-%s %q: want an explicit port", name, wsURL)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("-%s %q: the benchmark only talks to loopback", name, wsURL)
	}
	scheme := "http"
	if u.Scheme == "wss" {
		scheme = "https"
	}
	s := &server{name: name, ws: wsURL, status: scheme + "://" + u.Host + "/status", port: port, pid: pid}
	if s.pid == 0 {
		s.pid, _ = listenerPID(port)
	}
	return s, nil
}

// status is what /status reports.
type status struct {
	Version  string `json:"version"`
	Instance string `json:"instance"`
	Runtime  string `json:"runtime"`
	Sessions struct {
		Active int `json:"active"`
		Max    int `json:"max"`
	} `json:"sessions"`
	Pool *struct {
		Size     int    `json:"size"`
		Ready    int    `json:"ready"`
		Starting int    `json:"starting"`
		Target   int    `json:"target"`
		Queued   int    `json:"queued"`
		Reason   string `json:"reason"`
	} `json:"pool"`
}

func (s *server) getStatus(ctx context.Context) (status, error) {
	var st status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.status, nil)
	if err != nil {
		return st, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("%s server status: %w", s.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s server status: HTTP %s", s.name, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// poolWarm is the number of warm sandboxes ready and booting.
func (st status) poolWarm() int {
	if st.Pool == nil {
		return 0
	}
	return st.Pool.Ready + st.Pool.Starting
}

// settled reports a server with active sessions only and a full pool.
func (st status) settled(active int) bool {
	return st.Sessions.Active == active && (st.Pool == nil || (st.Pool.Ready == st.Pool.Size && st.Pool.Starting == 0))
}

// waitSettled waits until the server has exactly active sessions and its
// pool is full and idle, so a sample starts from the same state each time.
func (s *server) waitSettled(ctx context.Context, active int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		st, err := s.getStatus(ctx)
		if err == nil && st.settled(active) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s server not settled at %d sessions with a full pool after %s (last status %+v, err %v)",
				s.name, active, timeout, st, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// containersWithLabel lists the ids of containers (running or not) that
// carry label (key=value), with the docker CLI.
func containersWithLabel(ctx context.Context, label string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label="+label).Output()
	if err != nil {
		return nil, fmt.Errorf("docker ps: %w", err)
	}
	return strings.Fields(string(out)), nil
}

// countContainers counts all containers on the engine.
func countContainers(ctx context.Context) int {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-aq").Output()
	if err != nil {
		return -1
	}
	return len(strings.Fields(string(out)))
}
