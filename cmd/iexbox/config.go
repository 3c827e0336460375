package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"iexbox/internal/admission"
	"iexbox/internal/flagenv"
	"iexbox/internal/kube"
	"iexbox/internal/pool"
	"iexbox/internal/sandbox"
	"iexbox/internal/server"
	"iexbox/internal/session"
)

// errHelp is returned after -h printed the usage.
var errHelp = errors.New("help requested")

// config is the server's configuration, from flags and IEXBOX_* variables.
type config struct {
	addr            string
	backend         string
	image           string
	runtime         string
	command         string
	idleTimeout     time.Duration
	maxLifetime     time.Duration
	maxSessions     int
	pool            string // "auto" or a pinned size
	poolMax         int
	poolMemory      float64
	poolMaxAge      time.Duration
	bootParallel    int
	queueTimeout    time.Duration
	queueMax        int
	clientQueue     int
	clientBurst     int
	clientFloor     int
	clientFairFrom  float64
	origins         string
	memory          string
	cpus            float64
	pids            int64
	nofile          int64
	tmpfsSize       string
	network         string
	readOnly        bool
	dns             string
	user            string
	uidBase         int
	seccomp         bool
	instance        string
	shutdownTimeout time.Duration
	logFormat       string
	logLevel        string
	tokenSecretFile string
	tokenSecret     []byte // from the file or IEXBOX_TOKEN_SECRET, never a flag
	clientSessions  int
	clientRate      int
	trustedProxies  string
	inputRate       string
	inputBurst      string
	metricsAddr     string
	drainTimeout    time.Duration
	cgroupParent    string
	sandboxesMemory string
	sandboxesCPUs   float64
	resumeGrace     time.Duration
	maxViewers      int
	maxViewersTotal int
	hosts           string
	tokenMaxLife    time.Duration
	exercises       string
	toolchains      string
	checkTimeout    time.Duration
	kubeconfig      string
	namespace       string
	serverNamespace string
	runtimeClass    string
	nodeSelector    string

	// Parsed once by validate, from the flags above.
	parsed
}

// parsed is what validate derives from the flags, once.
type parsed struct {
	policy                      sandbox.Policy
	inputBytes, inputBurstBytes int // per second, and at once
	sandboxesMem                int64
	sandboxesCPUsOrDefault      float64
	poolSize                    int // the pinned size; -1 for auto
	nodeSelectorMap             map[string]string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	def := sandbox.Default()
	fs := flag.NewFlagSet("iexbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address (host:port)")
	fs.StringVar(&c.backend, "backend", "docker", "where sandboxes run: docker (one Docker Engine), kubernetes (one Pod per session on a cluster) or process (a local pty: development only, loopback only)")
	fs.StringVar(&c.image, "image", def.Image, "sandbox image; never pulled (build it with `make image`)")
	fs.StringVar(&c.runtime, "runtime", def.Isolation, "isolation runtime of sandboxes: runsc (gVisor) or runc; auto picks runsc when a probe sandbox starts under it, else runc with a warning (process: the same as -backend process)")
	fs.StringVar(&c.command, "command", "iex", "program the process backend runs")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 5*time.Minute, "end a session after this long without keyboard input (0 disables)")
	fs.DurationVar(&c.maxLifetime, "max-lifetime", 30*time.Minute, "end every session this long after it started (0 disables)")
	fs.IntVar(&c.maxSessions, "max-sessions", 0, "most concurrent sessions (0: from host memory and the idle footprint of a session)")
	fs.StringVar(&c.pool, "pool", "auto", "warm sandboxes kept booted to their first prompt, each used by one session only: auto sizes the pool by the largest recent wave of arrivals within a memory bound; N pins it; 0 disables it (sandboxes boot on demand)")
	fs.IntVar(&c.poolMax, "pool-max", 200, "most warm sandboxes -pool auto keeps")
	fs.Float64Var(&c.poolMemory, "pool-memory", 0.3, "-pool auto: the share of the sandboxes' memory (-sandboxes-memory) idle warm sandboxes may take; it bounds the pool, and half of that bound is its floor")
	fs.IntVar(&c.bootParallel, "boot-parallel", runtime.NumCPU()+1, "sandboxes booted at once (warm members and waiting clients together); more boots sharing the CPU all finish late (default: the number of cores plus one, measured best in docs/benchmarks.md)")
	fs.DurationVar(&c.queueTimeout, "queue-timeout", 60*time.Second, "longest a client waits in line for a sandbox before it is told capacity")
	fs.IntVar(&c.queueMax, "queue-max", 500, "most clients waiting in line, all addresses together")
	fs.IntVar(&c.clientQueue, "client-queue", 200, "most clients of one address waiting in line")
	fs.DurationVar(&c.poolMaxAge, "pool-max-age", 30*time.Minute, "replace a warm sandbox that has waited this long")
	fs.StringVar(&c.origins, "origins", "", "comma-separated browser origins (scheme://host[:port]) allowed besides the server's own")
	fs.StringVar(&c.memory, "memory", "256m", "memory limit per sandbox, swap included (Docker size: 256m, 1g)")
	fs.Float64Var(&c.cpus, "cpus", def.CPUs, "CPU quota per sandbox, in cores")
	fs.Int64Var(&c.pids, "pids", def.Pids, "process and thread limit per sandbox")
	fs.Int64Var(&c.nofile, "nofile", def.NoFile, "open-file limit per sandbox")
	fs.StringVar(&c.tmpfsSize, "tmpfs-size", "64m", "size of each writable tmpfs (/tmp and the home directory); mounted noexec")
	fs.StringVar(&c.network, "network", "none", "Docker network mode of sandboxes")
	fs.BoolVar(&c.readOnly, "read-only", true, "read-only root file system in sandboxes")
	fs.StringVar(&c.dns, "dns", "127.0.0.1", "comma-separated resolvers for sandboxes; loopback means no query can leave")
	fs.IntVar(&c.uidBase, "uid-base", def.UIDBase, "give every live sandbox uids of its own from a range above this one that no other server on the engine holds (0: all run as -user)")
	fs.StringVar(&c.user, "user", def.User, "uid:gid sandboxes run as when -uid-base is 0 (never root)")
	fs.BoolVar(&c.seccomp, "seccomp", true, "apply iexbox's seccomp profile (Docker's default minus io_uring, keyctl, bpf, unshare, mount, ptrace, ...); false keeps Docker's default")
	fs.StringVar(&c.instance, "instance", "", "name labelling this server's containers, stable across restarts (default: host name and listen port)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "longest wait for sessions and containers to end on SIGTERM")
	fs.StringVar(&c.tokenSecretFile, "token-secret-file", "", "file holding the secret that signs access tokens; when set (or IEXBOX_TOKEN_SECRET is), every hello must carry a valid token")
	fs.IntVar(&c.clientSessions, "client-sessions", 0, "a hard cap on concurrent sessions per client address (IPv4 address or IPv6 /64), waiting ones included (0: only the fair share bounds them)")
	fs.IntVar(&c.clientRate, "client-rate", 30, "new sessions per minute per client address, sustained, after -client-burst (0: no limit)")
	fs.IntVar(&c.clientBurst, "client-burst", 120, "new sessions one client address may open at once before -client-rate applies (a classroom's wave)")
	fs.IntVar(&c.clientFloor, "client-floor", 4, "sessions any client address may hold, however busy the server (the fair share's floor)")
	fs.Float64Var(&c.clientFairFrom, "client-fair-from", 0.5, "share of -max-sessions held (sessions and waiting clients) from which each address is held to its fair share of it: max(-client-floor, max-sessions / addresses holding any)")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For names the client")
	fs.StringVar(&c.inputRate, "input-rate", "256k", "keyboard input per session, bytes per second (0: no cap)")
	fs.StringVar(&c.inputBurst, "input-burst", "1m", "input a session may send at once before -input-rate applies (a paste)")
	fs.StringVar(&c.cgroupParent, "cgroup-parent", "iexbox", "parent cgroup of all sandboxes, whose limits bound them together (\"\": Docker's default, no shared bound)")
	fs.StringVar(&c.sandboxesMemory, "sandboxes-memory", "", "memory of all sandboxes together (default: three quarters of the host's)")
	fs.Float64Var(&c.sandboxesCPUs, "sandboxes-cpus", 0, "CPU cores of all sandboxes together (default: all but half a core, kept for dockerd and the server)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve /metrics on this separate address (host:port) only, keeping it off the public one (default: /metrics on -addr)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 0, "on SIGTERM, refuse new sessions and let live ones run this long before ending them (a second SIGTERM ends them at once; 0: end them at once)")
	fs.DurationVar(&c.resumeGrace, "resume-grace", 30*time.Second, "keep a session whose client asked for it (hello \"resumable\") alive this long after its connection drops, so a reload or a network blip can resume it (0: never)")
	fs.IntVar(&c.maxViewers, "max-viewers", 200, "most read-only viewers of one shared session")
	fs.IntVar(&c.maxViewersTotal, "max-viewers-total", 2000, "most read-only viewers of all shared sessions together (0: no bound)")
	fs.StringVar(&c.hosts, "hosts", "", "comma-separated host names the server answers to, others get 403 (default: the -addr host and the -origins hosts; loopback names and IP literals always)")
	fs.DurationVar(&c.tokenMaxLife, "token-max-lifetime", 24*time.Hour, "refuse access tokens whose expiry lies further ahead than this (0: no bound)")
	fs.StringVar(&c.exercises, "exercises", "", "folder of exercises (each folder holding a test.exs is one, named by its path); default: the examples built in")
	fs.StringVar(&c.toolchains, "toolchains", "", "folder of toolchains lessons may pick (each folder holding a toolchain.json is one, named by its path); their images must be built first with `iexbox toolchains DIR`; default: only the built-in toolchain, default (-image)")
	fs.DurationVar(&c.checkTimeout, "check-timeout", 10*time.Second, "longest run of one exercise check, from the request to its result")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubernetes: kubeconfig file (default: the in-cluster configuration when running in a Pod, else $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&c.namespace, "namespace", kube.DefaultNamespace, "kubernetes: namespace of the sandbox Pods")
	fs.StringVar(&c.serverNamespace, "server-namespace", kube.DefaultServerNamespace, "kubernetes: namespace of the servers, where each instance renews its Lease")
	fs.StringVar(&c.runtimeClass, "runtime-class", kube.DefaultRuntimeClass, "kubernetes: the gVisor RuntimeClass; -runtime auto uses it when a probe Pod runs under it, runsc requires it, runc uses none")
	fs.StringVar(&c.nodeSelector, "node-selector", "", "kubernetes: comma-separated key=value node labels sandbox Pods must be placed on")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: iexbox [flags]\n       iexbox exercises [DIR] [flags]   (check every reference solution in real sandboxes)\n       iexbox toolchains DIR [flags]    (build what is missing of every toolchain's image, check each in a real sandbox)\n\nServes iex in the browser, one fresh hardened container per session.\n"+
			"Every flag can also be set with an environment variable: -idle-timeout is IEXBOX_IDLE_TIMEOUT.\n"+
			"A flag on the command line wins over its variable.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := flagenv.Parse(fs, args[1:], "IEXBOX", getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errHelp
		}
		return c, err
	}
	if err := c.readTokenSecret(getenv); err != nil {
		return c, err
	}
	return c, c.validate()
}

// readTokenSecret reads the token secret from -token-secret-file, else
// from IEXBOX_TOKEN_SECRET. A flag would show it in the process list.
func (c *config) readTokenSecret(getenv func(string) string) error {
	if c.tokenSecretFile != "" {
		data, err := os.ReadFile(c.tokenSecretFile)
		if err != nil {
			return fmt.Errorf("-token-secret-file: %w", err)
		}
		c.tokenSecret = []byte(strings.TrimSpace(string(data)))
	} else if v := getenv("IEXBOX_TOKEN_SECRET"); v != "" {
		c.tokenSecret = []byte(v)
	}
	if c.tokenSecret != nil && len(c.tokenSecret) < 16 {
		return errors.New("the token secret must be at least 16 bytes")
	}
	return nil
}

func (c *config) validate() error {
	if c.runtime == "process" { // the old spelling of -backend process
		c.backend, c.runtime = "process", "auto"
	}
	switch c.backend {
	case "docker", "kubernetes":
	case "process":
		if !loopback(c.addr) {
			return fmt.Errorf("-backend process isolates nothing and only listens on loopback, not %q", c.addr)
		}
	default:
		return fmt.Errorf("-backend %q: want docker, kubernetes or process", c.backend)
	}
	if c.maxViewers < 0 || c.maxViewersTotal < 0 {
		return errors.New("-max-viewers and -max-viewers-total must not be negative")
	}
	if c.checkTimeout <= 0 {
		return errors.New("-check-timeout must be positive")
	}
	if c.idleTimeout < 0 || c.maxLifetime < 0 || c.shutdownTimeout < 0 || c.drainTimeout < 0 || c.resumeGrace < 0 || c.tokenMaxLife < 0 {
		return errors.New("durations must not be negative")
	}
	if c.pool == "auto" {
		c.poolSize = -1
	} else if n, err := strconv.Atoi(c.pool); err != nil || n < 0 {
		return fmt.Errorf("-pool %q: want auto or a size (0 disables)", c.pool)
	} else {
		c.poolSize = n
	}
	if c.poolMaxAge < 0 || c.poolMax < 0 || c.queueTimeout < 0 || c.queueMax < 0 || c.clientQueue < 0 {
		return errors.New("-pool-max, -pool-max-age, -queue-timeout, -queue-max and -client-queue must not be negative")
	}
	if c.poolMemory < 0 || c.poolMemory > 1 || c.clientFairFrom < 0 || c.clientFairFrom > 1 {
		return errors.New("-pool-memory and -client-fair-from are fractions from 0 to 1")
	}
	if c.bootParallel < 1 {
		return errors.New("-boot-parallel must be at least 1")
	}
	if c.maxSessions < 0 {
		return errors.New("-max-sessions must not be negative")
	}
	if c.clientSessions < 0 || c.clientRate < 0 || c.clientBurst < 0 || c.clientFloor < 0 {
		return errors.New("-client-sessions, -client-rate, -client-burst and -client-floor must not be negative")
	}
	// Every field a flag sets is set, zero included: Validate sees it.
	c.policy = sandbox.Default()
	if err := c.parseSizes(); err != nil {
		return err
	}
	p := &c.policy
	p.Image, p.Isolation, p.CPUs, p.Pids, p.NoFile = c.image, c.runtime, c.cpus, c.pids, c.nofile
	p.UIDBase, p.User, p.WritableRoot, p.EngineSeccomp = c.uidBase, c.user, !c.readOnly, !c.seccomp
	if err := c.policy.Validate(); err != nil {
		return err
	}
	var err error
	if c.nodeSelectorMap, err = parseSelector(c.nodeSelector); err != nil {
		return err
	}
	if c.instance != "" && !instanceName.MatchString(c.instance) {
		return fmt.Errorf("-instance %q: use letters, digits, '.', '_' and '-'", c.instance)
	}
	return nil
}

// parseSizes reads every size flag, once.
func (c *config) parseSizes() (err error) {
	if c.policy.Memory, err = sandbox.ParseSize("memory", c.memory, 32<<20); err != nil {
		return err
	}
	if c.policy.TmpfsSize, err = sandbox.ParseSize("tmpfs-size", c.tmpfsSize, 1<<20); err != nil {
		return err
	}
	rate, err := sandbox.ParseSize("input-rate", c.inputRate, 0)
	if err != nil {
		return err
	}
	burst, err := sandbox.ParseSize("input-burst", c.inputBurst, 0)
	if err != nil {
		return err
	}
	c.inputBytes, c.inputBurstBytes = int(rate), int(burst)
	if c.sandboxesMemory != "" {
		if c.sandboxesMem, err = sandbox.ParseSize("sandboxes-memory", c.sandboxesMemory, 64<<20); err != nil {
			return err
		}
	} else if total, err := sandbox.HostMemory(); err == nil {
		c.sandboxesMem = total / 4 * 3
	}
	if c.sandboxesCPUs < 0 {
		return errors.New("-sandboxes-cpus must not be negative")
	}
	c.sandboxesCPUsOrDefault = c.sandboxesCPUs
	if c.sandboxesCPUsOrDefault == 0 {
		c.sandboxesCPUsOrDefault = max(float64(runtime.NumCPU())-0.5, 0.5)
	}
	return nil
}

// stack is the server's configuration, each part as its package defines
// it, from the flags.
func (c *config) stack() (server.StackConfig, error) {
	origins, err := server.ParseOrigins(c.origins)
	if err != nil {
		return server.StackConfig{}, err
	}
	proxies, err := server.ParseTrustedProxies(c.trustedProxies)
	if err != nil {
		return server.StackConfig{}, err
	}
	hosts, err := server.ParseHosts(c.hosts, c.addr, origins)
	if err != nil {
		return server.StackConfig{}, fmt.Errorf("-hosts: %w", err)
	}
	sc := server.StackConfig{
		Server: server.Config{
			Instance:         c.instanceOrDefault(),
			Origins:          origins,
			TrustedProxies:   proxies,
			Hosts:            hosts,
			TokenSecret:      c.tokenSecret,
			TokenMaxLifetime: c.tokenMaxLife,
			QueueTimeout:     c.queueTimeout,
		},
		Admission: admission.Config{
			MaxSessions: c.maxSessions,
			Addresses: admission.AddressLimits{
				PreHello: admission.DefaultPreHello, PreHelloTotal: admission.DefaultPreHelloTotal,
				Sessions: c.clientSessions, PerMin: c.clientRate, Burst: c.clientBurst,
				Floor: c.clientFloor, FairFrom: c.clientFairFrom, Waiting: c.clientQueue,
				Viewers: admission.DefaultViewers, ViewersTotal: c.maxViewersTotal,
			},
			Limits: session.Limits{Idle: c.idleTimeout, Lifetime: c.maxLifetime,
				InputRate: c.inputBytes, InputBurst: c.inputBurstBytes},
			Grace:        c.resumeGrace,
			MaxViewers:   c.maxViewers,
			CheckTimeout: c.checkTimeout,
		},
		Pool: pool.Config{Size: c.poolSize, MaxAge: c.poolMaxAge, Cols: 80, Rows: 24,
			Parallel: c.bootParallel, QueueMax: c.queueMax},
	}
	if c.poolSize < 0 {
		sc.PoolAuto = &server.PoolAuto{Memory: c.poolMemory, Max: c.poolMax}
	}
	return sc, nil
}

var instanceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// instanceOrDefault derives a stable instance name from the host name and
// the listen port, so a restarted server finds its own leftovers.
func (c *config) instanceOrDefault() string {
	if c.instance != "" {
		return c.instance
	}
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(c.addr)
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(host+"-"+port, "-")
	return strings.Trim(name, "-.")
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

// parseSelector reads key=value,key=value.
func parseSelector(s string) (map[string]string, error) {
	var m map[string]string
	for _, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-node-selector %q: want key=value pairs", s)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
