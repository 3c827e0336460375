// Package metrics exposes iexbox's Prometheus metrics. It implements the
// small observer interfaces the server and the Docker adapter define, so
// neither knows about Prometheus.
package metrics

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector. It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	sessionsEnded  *prometheus.CounterVec
	refused        *prometheus.CounterVec
	timeToPrompt   *prometheus.HistogramVec
	sessionSeconds prometheus.Histogram
	bytes          *prometheus.CounterVec
	dockerSeconds  *prometheus.HistogramVec
	dockerErrors   *prometheus.CounterVec
	kubeSeconds    *prometheus.HistogramVec
	kubeErrors     *prometheus.CounterVec
	joinsRefused   *prometheus.CounterVec

	recordingsOpen    prometheus.Gauge
	recordingBytes    prometheus.Counter
	recordingsRefused *prometheus.CounterVec
	recordingsStopped prometheus.Counter
}

// Gauges are read when scraped.
type Gauges struct {
	SessionsActive func() int
	SessionsMax    func() int
	PoolSize       func() int // nil without a pool
	PoolReady      func() int
	PoolStarting   func() int
	PoolMax        func() int
	PoolReason     func() string // why the pool's target is what it is
	Queued         func() int    // clients waiting in line for a sandbox
	// Toolchains is each toolchain's pool: target, ready, starting and
	// queued by toolchain name; nil without toolchains.
	Toolchains func() map[string][4]int
	// Classes: open classes, seats held and warm, learners connected
	// here; nil without classes.
	ClassesOpen, SeatsHeld, SeatsWarm, LearnersConnected func() int
}

// New registers every collector, the Go runtime's and the process's too;
// Watch adds the gauges.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg: reg,
		recordingsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "iexbox_recordings_open", Help: "Recordings being made now.",
		}),
		recordingBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iexbox_recording_bytes_stored_total", Help: "Bytes of asciicast events written to the store.",
		}),
		recordingsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iexbox_recordings_refused_total", Help: "Recordings asked for and refused, by reason (storage, rate, error).",
		}, []string{"reason"}),
		recordingsStopped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iexbox_recordings_stopped_total", Help: "Recordings stopped at -record-max-bytes while their session went on.",
		}),
		sessionsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iexbox_sessions_total", Help: "Sessions ended, by end reason.",
		}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iexbox_sessions_refused_total", Help: "Connections refused before a session, by reason (capacity, origin, rate_limited, forbidden, protocol, unavailable).",
		}, []string{"reason"}),
		timeToPrompt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "iexbox_time_to_prompt_seconds",
			Help:    "From hello to ready, which is sent once the prompt is there; by path (warm: from the pool, cold: booted on demand).",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2, 4, 8, 16},
		}, []string{"path"}),
		sessionSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "iexbox_session_duration_seconds",
			Help:    "How long sessions lasted.",
			Buckets: []float64{1, 10, 30, 60, 300, 600, 1200, 1800, 3600},
		}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iexbox_terminal_bytes_total", Help: "Terminal bytes through sessions: in from clients, out to them.",
		}, []string{"direction"}),
		dockerSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "iexbox_docker_request_seconds",
			Help:    "Docker Engine API latency, by operation (create, attach, start, resize, remove).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"op"}),
		dockerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iexbox_docker_errors_total", Help: "Docker Engine API errors, by operation.",
		}, []string{"op"}),
		kubeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "iexbox_kubernetes_request_seconds",
			Help:    "Kubernetes API latency, by operation (create, schedule: from create to a running container, attach, exec, delete, list).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"op"}),
		kubeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iexbox_kubernetes_errors_total", Help: "Kubernetes API errors, by operation.",
		}, []string{"op"}),
		joinsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iexbox_class_joins_refused_total", Help: "Joins of a class refused, by reason (no_class, no_learner, bad_name, name_taken, rate, sessions).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.recordingsOpen, m.recordingBytes, m.recordingsRefused, m.recordingsStopped, m.sessionsEnded, m.refused, m.timeToPrompt, m.sessionSeconds, m.bytes, m.dockerSeconds, m.dockerErrors,
		m.kubeSeconds, m.kubeErrors, m.joinsRefused)
	return m
}

// JoinRefused counts a refused join of a class.
func (m *Metrics) JoinRefused(reason string) { m.joinsRefused.WithLabelValues(reason).Inc() }

// Watch registers the gauges, read when scraped. Call it once.
func (m *Metrics) Watch(g Gauges) {
	reg := m.reg
	gauge := func(name, help string, f func() int) {
		if f != nil {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f()) }))
		}
	}
	gauge("iexbox_sessions_active", "Sessions running now.", g.SessionsActive)
	gauge("iexbox_sessions_max", "The cap on concurrent sessions.", g.SessionsMax)
	gauge("iexbox_pool_size", "Warm sandboxes the pool keeps: its target.", g.PoolSize)
	gauge("iexbox_pool_target", "Warm sandboxes the pool keeps: its target (the same as iexbox_pool_size).", g.PoolSize)
	gauge("iexbox_pool_max", "The most the pool's target may grow to.", g.PoolMax)
	gauge("iexbox_queue_waiting", "Clients waiting in line for a sandbox.", g.Queued)
	if g.PoolReason != nil {
		reg.MustRegister(reasonCollector{desc: prometheus.NewDesc("iexbox_pool_reason",
			"Why the pool's target is what it is (floor, wave, max, shrinking, pinned, disabled): 1 for the current reason.",
			[]string{"reason"}, nil), reason: g.PoolReason})
	}
	gauge("iexbox_pool_ready", "Warm sandboxes ready to hand over.", g.PoolReady)
	gauge("iexbox_classes_open", "Classes open (not ended), all servers of the store together.", g.ClassesOpen)
	gauge("iexbox_class_seats_held", "Warm sandboxes the open classes' seats ask for now.", g.SeatsHeld)
	gauge("iexbox_class_seats_warm", "Of the seats held, those booted and ready.", g.SeatsWarm)
	gauge("iexbox_class_learners_connected", "Learners with a session on this server.", g.LearnersConnected)
	gauge("iexbox_pool_starting", "Warm sandboxes booting.", g.PoolStarting)
	if g.Toolchains != nil {
		reg.MustRegister(toolchainCollector{desc: prometheus.NewDesc("iexbox_toolchain_pool",
			"Each toolchain's pool: its target, the warm sandboxes ready and booting, and the clients waiting in its line, by state.",
			[]string{"toolchain", "state"}, nil), pools: g.Toolchains})
	}
}

// toolchainCollector reports each toolchain's pool, labelled by toolchain.
type toolchainCollector struct {
	desc  *prometheus.Desc
	pools func() map[string][4]int
}

func (c toolchainCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c toolchainCollector) Collect(ch chan<- prometheus.Metric) {
	for name, v := range c.pools() {
		for i, state := range []string{"target", "ready", "starting", "queued"} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v[i]), name, state)
		}
	}
}

// reasonCollector reports the pool's current reason as a label.
type reasonCollector struct {
	desc   *prometheus.Desc
	reason func() string
}

func (c reasonCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c reasonCollector) Collect(ch chan<- prometheus.Metric) {
	code, _, _ := strings.Cut(c.reason(), ":")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, code)
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SessionStarted records a session's time to prompt.
func (m *Metrics) SessionStarted(warm bool, startup time.Duration) {
	path := "cold"
	if warm {
		path = "warm"
	}
	m.timeToPrompt.WithLabelValues(path).Observe(startup.Seconds())
}

// SessionEnded records a session's end.
func (m *Metrics) SessionEnded(reason string, lasted time.Duration) {
	m.sessionsEnded.WithLabelValues(reason).Inc()
	m.sessionSeconds.Observe(lasted.Seconds())
}

// Refused records a connection refused before its session began.
func (m *Metrics) Refused(reason string) { m.refused.WithLabelValues(reason).Inc() }

// TerminalBytes records input (in) and output (out) bytes.
func (m *Metrics) TerminalBytes(in, out int) {
	if in > 0 {
		m.bytes.WithLabelValues("in").Add(float64(in))
	}
	if out > 0 {
		m.bytes.WithLabelValues("out").Add(float64(out))
	}
}

// DockerRequest records one Docker Engine API call.
func (m *Metrics) DockerRequest(op string, took time.Duration, err error) {
	m.dockerSeconds.WithLabelValues(op).Observe(took.Seconds())
	if err != nil {
		m.dockerErrors.WithLabelValues(op).Inc()
	}
}

// KubernetesRequest records one Kubernetes API call.
func (m *Metrics) KubernetesRequest(op string, took time.Duration, err error) {
	m.kubeSeconds.WithLabelValues(op).Observe(took.Seconds())
	if err != nil {
		m.kubeErrors.WithLabelValues(op).Inc()
	}
}

// RecordingOpened counts a recording begun.
func (m *Metrics) RecordingOpened() { m.recordingsOpen.Inc() }

// RecordingClosed counts a recording complete.
func (m *Metrics) RecordingClosed() { m.recordingsOpen.Dec() }

// RecordingStored counts bytes of a recording written to the store.
func (m *Metrics) RecordingStored(n int) { m.recordingBytes.Add(float64(n)) }

// RecordingRefused counts a recording refused for reason.
func (m *Metrics) RecordingRefused(reason string) { m.recordingsRefused.WithLabelValues(reason).Inc() }

// RecordingStopped counts a recording stopped at its byte bound.
func (m *Metrics) RecordingStopped() { m.recordingsStopped.Inc() }
