package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"iexbox/internal/admission"
	"iexbox/internal/docker"
	"iexbox/internal/kube"
	"iexbox/internal/pool"
	"iexbox/internal/recording"
	"iexbox/internal/sandbox"
	"iexbox/internal/server"
	"iexbox/internal/session"
	"iexbox/internal/store"
)

// env is a getenv over a fixed set of variables.
func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func defaults() config {
	p := sandbox.Default()
	p.Image, p.Isolation, p.CPUs, p.Pids, p.NoFile = "iexbox-sandbox:latest", "auto", 0.5, 64, 1024
	p.User, p.UIDBase = "10001:10001", 100000
	p.Memory, p.TmpfsSize, p.WritableRoot, p.EngineSeccomp = 0, 0, false, false // read from the flags' text
	return config{
		addr:            "127.0.0.1:8080",
		backend:         "docker",
		command:         "iex",
		shutdownTimeout: 30 * time.Second,
		logFormat:       "text",
		logLevel:        "info",
		policy:          sandbox.PolicyFlags{Policy: p, MemoryText: "256m", TmpfsText: "64m", ReadOnly: true, Seccomp: true},
		stack: server.StackFlags{
			Admission: admission.Flags{
				Config: admission.Config{
					Limits: session.Limits{Idle: 5 * time.Minute, Lifetime: 30 * time.Minute},
					Addresses: admission.AddressLimits{
						PreHello: admission.DefaultPreHello, PreHelloTotal: admission.DefaultPreHelloTotal,
						PerMin: 30, Burst: 120, Floor: 4, FairFrom: 0.5, Waiting: 200,
						Viewers: admission.DefaultViewers, ViewersTotal: 2000,
					},
					Grace:        30 * time.Second,
					MaxViewers:   200,
					CheckTimeout: 10 * time.Second,
				},
				InputRate: "256k", InputBurst: "1m",
			},
			Pool:             pool.Config{MaxAge: 30 * time.Minute, Cols: 80, Rows: 24, Parallel: runtime.NumCPU() + 1, QueueMax: 500},
			PoolSize:         "auto",
			PoolMax:          200,
			PoolMemory:       0.3,
			QueueTimeout:     60 * time.Second,
			TokenMaxLifetime: 24 * time.Hour,
			Recording: recording.Flags{
				Config:     recording.Config{PerHour: 10, Retention: 30 * 24 * time.Hour},
				Recordings: "on", MaxBytes: "8m", Storage: "2g",
			},
			Classes: server.ClassFlags{TeacherClasses: 5, LearnerSessions: 8, Memory: 0.5,
				WarmFor: 2 * time.Hour, Retention: 30 * 24 * time.Hour},
		},
		docker: docker.Flags{Network: "none", DNS: "127.0.0.1", CgroupParent: "iexbox"},
		kube:   kube.Flags{Namespace: "iexbox-sandboxes", ServerNamespace: "iexbox", RuntimeClass: "gvisor"},
		store:  store.Config{Data: "/var/lib/iexbox"},
	}
}

// flagsOnly is c as the flags and variables gave it, without what
// validate derived from them.
func flagsOnly(c config) config {
	c.parsed = parsed{}
	c.policy.Memory, c.policy.TmpfsSize, c.policy.WritableRoot, c.policy.EngineSeccomp = 0, 0, false, false
	c.stack.Admission.Limits.InputRate, c.stack.Admission.Limits.InputBurst = 0, 0
	c.stack.Pool.Size = 0
	c.stack.Recording.Off, c.stack.Recording.Config.MaxBytes, c.stack.Recording.Config.Storage = false, 0, 0
	return c
}

// TestParseConfigDefaults pins every default: a change to one is a change
// to the documented, safe configuration.
func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig([]string{"iexbox"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.policy.Policy, sandbox.Default()) {
		t.Errorf("policy from the default flags\n got %+v\nwant %+v", c.policy.Policy, sandbox.Default())
	}
	if r := c.stack.Recording.Config; r.Off || r.MaxBytes != 8<<20 || r.Storage != 2<<30 {
		t.Errorf("recordings %+v: want on, 8m and 2g", r)
	}
	if c.stack.Pool.Size != -1 || c.stack.Admission.Limits.InputRate != 256<<10 || c.stack.Admission.Limits.InputBurst != 1<<20 {
		t.Errorf("pool size %d, input %d/s and %d at once: want auto (-1), 256k and 1m",
			c.stack.Pool.Size, c.stack.Admission.Limits.InputRate, c.stack.Admission.Limits.InputBurst)
	}
	c = flagsOnly(c)
	if want := defaults(); !reflect.DeepEqual(c, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", c, want)
	}
}

func TestParseConfigSources(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*config)
	}{
		{"flags", []string{"-addr", "127.0.0.1:9000", "-idle-timeout", "90s", "-max-lifetime", "1h", "-max-sessions", "7",
			"-origins", "https://a.example", "-memory", "512m", "-cpus", "1.5", "-pids", "128", "-runtime", "runsc", "-instance", "blue"},
			nil, func(c *config) {
				c.addr, c.stack.Admission.Limits.Idle, c.stack.Admission.Limits.Lifetime, c.stack.Admission.MaxSessions = "127.0.0.1:9000", 90*time.Second, time.Hour, 7
				c.stack.Origins, c.policy.MemoryText, c.policy.CPUs, c.policy.Pids, c.policy.Isolation, c.instance = "https://a.example", "512m", 1.5, 128, "runsc", "blue"
			}},
		{"environment", nil, map[string]string{
			"IEXBOX_ADDR": "127.0.0.1:9000", "IEXBOX_IDLE_TIMEOUT": "90s", "IEXBOX_MAX_LIFETIME": "1h",
			"IEXBOX_MAX_SESSIONS": "7", "IEXBOX_ORIGINS": "https://a.example", "IEXBOX_MEMORY": "512m",
			"IEXBOX_CPUS": "1.5", "IEXBOX_PIDS": "128", "IEXBOX_RUNTIME": "runsc", "IEXBOX_INSTANCE": "blue",
			"IEXBOX_IMAGE": "my/image:1", "IEXBOX_READ_ONLY": "false", "IEXBOX_SHUTDOWN_TIMEOUT": "5s",
			"IEXBOX_TMPFS_SIZE": "32m", "IEXBOX_LOG_LEVEL": "debug", "IEXBOX_NOFILE": "256",
		}, func(c *config) {
			c.addr, c.stack.Admission.Limits.Idle, c.stack.Admission.Limits.Lifetime, c.stack.Admission.MaxSessions = "127.0.0.1:9000", 90*time.Second, time.Hour, 7
			c.stack.Origins, c.policy.MemoryText, c.policy.CPUs, c.policy.Pids, c.policy.Isolation, c.instance = "https://a.example", "512m", 1.5, 128, "runsc", "blue"
			c.policy.Image, c.policy.ReadOnly, c.shutdownTimeout, c.policy.TmpfsText, c.logLevel, c.policy.NoFile = "my/image:1", false, 5*time.Second, "32m", "debug", 256
		}},
		{"flag wins over environment", []string{"-idle-timeout", "2m"}, map[string]string{"IEXBOX_IDLE_TIMEOUT": "1m"},
			func(c *config) { c.stack.Admission.Limits.Idle = 2 * time.Minute }},
		{"flag set to its default still wins", []string{"-read-only=true", "-memory", "256m"},
			map[string]string{"IEXBOX_READ_ONLY": "false", "IEXBOX_MEMORY": "1g"}, func(*config) {}},
		{"environment fills what flags leave", []string{"-idle-timeout", "2m"}, map[string]string{"IEXBOX_MAX_LIFETIME": "10m"},
			func(c *config) {
				c.stack.Admission.Limits.Idle, c.stack.Admission.Limits.Lifetime = 2*time.Minute, 10*time.Minute
			}},
		{"empty variable is unset", nil, map[string]string{"IEXBOX_IDLE_TIMEOUT": ""}, func(*config) {}},
		{"zero disables a limit", []string{"-idle-timeout", "0", "-max-lifetime", "0"}, nil,
			func(c *config) { c.stack.Admission.Limits.Idle, c.stack.Admission.Limits.Lifetime = 0, 0 }},
		{"process backend on loopback", []string{"-backend", "process", "-unsafe-no-sandbox", "-command", "cat -u"}, nil,
			func(c *config) { c.backend, c.command, c.unsafeNoSandbox = "process", "cat -u", true }},
		{"process backend from the environment", nil, map[string]string{"IEXBOX_BACKEND": "process", "IEXBOX_UNSAFE_NO_SANDBOX": "true"},
			func(c *config) { c.backend, c.unsafeNoSandbox = "process", true }},
		{"host network when asked for", []string{"-network", "host", "-unsafe-network"}, nil,
			func(c *config) { c.docker.Network, c.docker.UnsafeNetwork = "host", true }},
		{"a bridge network", []string{"-network", "bridge"}, nil, func(c *config) { c.docker.Network = "bridge" }},
		{"kubernetes backend", []string{"-backend", "kubernetes", "-kubeconfig", "/k", "-namespace", "s", "-runtime-class", "rc",
			"-node-selector", "a=b, c=d"}, map[string]string{"IEXBOX_SERVER_NAMESPACE": "srv", "IEXBOX_PROBE_EGRESS": "192.0.2.1:80, node:22"},
			func(c *config) {
				c.backend, c.kube.Kubeconfig, c.kube.Namespace, c.kube.RuntimeClass, c.kube.NodeSelector = "kubernetes", "/k", "s", "rc", "a=b, c=d"
				c.kube.ServerNamespace, c.kube.ProbeEgress = "srv", "192.0.2.1:80, node:22"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(append([]string{"iexbox"}, tt.args...), env(tt.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			// Compare with what no flag and no variable give, so a new
			// flag does not have to be added to every case.
			want, err := parseConfig([]string{"iexbox"}, env(nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			tt.want(&want)
			got, want = flagsOnly(got), flagsOnly(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseConfigProcessLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.1:0", true},
		{"127.1.2.3:8080", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"[::]:8080", false},
		{"192.168.1.10:8080", false},
		{"example.com:8080", false},
		{"127.0.0.1", false}, // no port: not an address
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			_, err := parseConfig([]string{"iexbox", "-backend", "process", "-unsafe-no-sandbox", "-addr", tt.addr}, env(nil), io.Discard)
			if (err == nil) != tt.ok {
				t.Fatalf("-backend process -addr %s: %v, want ok: %v", tt.addr, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "loopback") {
				t.Errorf("error %q does not say why", err)
			}
		})
	}
	// Through the environment too.
	if _, err := parseConfig([]string{"iexbox"}, env(map[string]string{"IEXBOX_BACKEND": "process", "IEXBOX_UNSAFE_NO_SANDBOX": "true",
		"IEXBOX_ADDR": ":8080"}), io.Discard); err == nil {
		t.Errorf("process backend on :8080 from the environment was accepted")
	}
	// Docker runtimes may listen anywhere.
	if _, err := parseConfig([]string{"iexbox", "-addr", "0.0.0.0:8080"}, env(nil), io.Discard); err != nil {
		t.Errorf("runc on 0.0.0.0:8080: %v", err)
	}
}

// TestParseConfigProcessServesThisMachineOnly: the process backend, which
// isolates nothing, must be asked for by name (-unsafe-no-sandbox), and is
// refused even then with whatever serves others.
func TestParseConfigProcessServesThisMachineOnly(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error
	}{
		{"without -unsafe-no-sandbox", nil, nil, "-unsafe-no-sandbox"},
		{"-unsafe-no-sandbox=false", []string{"-unsafe-no-sandbox=false"}, nil, "-unsafe-no-sandbox"},
		{"-origins", []string{"-unsafe-no-sandbox", "-origins", "https://lessons.example"}, nil, "-origins"},
		{"-hosts", []string{"-unsafe-no-sandbox", "-hosts", "iexbox.example"}, nil, "-hosts"},
		{"-trusted-proxies", []string{"-unsafe-no-sandbox", "-trusted-proxies", "127.0.0.2"}, nil, "-trusted-proxies"},
		{"-token-secret-file", []string{"-unsafe-no-sandbox", "-token-secret-file", secret}, nil, "token secret"},
		{"IEXBOX_TOKEN_SECRET", []string{"-unsafe-no-sandbox"}, map[string]string{"IEXBOX_TOKEN_SECRET": "0123456789abcdef0123"}, "token secret"},
		{"IEXBOX_TRUSTED_PROXIES", nil, map[string]string{"IEXBOX_UNSAFE_NO_SANDBOX": "true", "IEXBOX_TRUSTED_PROXIES": "127.0.0.1"}, "-trusted-proxies"},
		{"all of them", []string{"-unsafe-no-sandbox", "-origins", "https://a.example", "-hosts", "a.example", "-trusted-proxies", "127.0.0.2"},
			nil, "-origins, -hosts, -trusted-proxies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"iexbox", "-backend", "process"}, tt.args...)
			_, err := parseConfig(args, env(tt.env), io.Discard)
			if err == nil {
				t.Fatalf("accepted %v %v", tt.args, tt.env)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "isolates nothing") {
				t.Errorf("error %q, want it to say the backend isolates nothing and name %q", err, tt.want)
			}
		})
	}
	// The same flags are fine with a backend that isolates.
	if _, err := parseConfig([]string{"iexbox", "-origins", "https://a.example", "-hosts", "a.example", "-trusted-proxies", "127.0.0.2",
		"-token-secret-file", secret}, env(nil), io.Discard); err != nil {
		t.Errorf("docker backend serving others: %v", err)
	}
	c, err := parseConfig([]string{"iexbox", "-backend", "process", "-unsafe-no-sandbox"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sc, err := c.stackConfig(); err != nil || !sc.Server.LocalOnly {
		t.Errorf("process backend: LocalOnly %v (%v), want the server to refuse forwarded requests", sc.Server.LocalOnly, err)
	}
	if c, err = parseConfig([]string{"iexbox"}, env(nil), io.Discard); err != nil {
		t.Fatal(err)
	}
	if sc, err := c.stackConfig(); err != nil || sc.Server.LocalOnly {
		t.Errorf("docker backend: LocalOnly %v (%v), want false", sc.Server.LocalOnly, err)
	}
}

func TestParseConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error
	}{
		{"memory from env", nil, map[string]string{"IEXBOX_MEMORY": "huge"}, `-memory "huge"`},
		{"unknown backend", []string{"-backend", "lxc"}, nil, "want docker, kubernetes or process"},
		// The old spelling of the process backend is gone.
		{"-runtime process", []string{"-runtime", "process"}, nil, "-backend process -unsafe-no-sandbox"},
		{"IEXBOX_RUNTIME=process", nil, map[string]string{"IEXBOX_RUNTIME": "process"}, "-backend process -unsafe-no-sandbox"},
		{"host network from the environment", nil, map[string]string{"IEXBOX_NETWORK": "host"}, "-unsafe-network"},
		{"node selector without value", []string{"-node-selector", "a"}, nil, "-node-selector"},
		{"instance with spaces", []string{"-instance", "my box"}, nil, "-instance"},
		{"instance with slash", []string{"-instance", "a/b"}, nil, "-instance"},
		{"instance leading dash", []string{"-instance", "-x"}, nil, "-instance"},
		{"instance too long", []string{"-instance", strings.Repeat("a", 64)}, nil, "-instance"},
		{"bad env duration", nil, map[string]string{"IEXBOX_IDLE_TIMEOUT": "soon"}, "IEXBOX_IDLE_TIMEOUT"},
		{"bad env bool", nil, map[string]string{"IEXBOX_READ_ONLY": "maybe"}, "IEXBOX_READ_ONLY"},
		{"unknown flag", []string{"-frobnicate"}, nil, "frobnicate"},
		{"stray argument", []string{"serve"}, nil, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(append([]string{"iexbox"}, tt.args...), env(tt.env), io.Discard)
			if err == nil {
				t.Fatalf("accepted %v %v", tt.args, tt.env)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestParseConfigHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := parseConfig([]string{"iexbox", arg}, env(nil), &stderr)
			if !errors.Is(err, errHelp) {
				t.Fatalf("parseConfig(%s) = %v, want errHelp", arg, err)
			}
			if exitCode(err) != 0 {
				t.Errorf("exit code %d for help, want 0", exitCode(err))
			}
			usage := stderr.String()
			for _, want := range []string{"IEXBOX_IDLE_TIMEOUT", "-addr", "-image", "-runtime", "-idle-timeout", "-max-lifetime",
				"-max-sessions", "-origins", "-memory", "-cpus", "-pids", "-instance", "-shutdown-timeout", "make image",
				"-unsafe-no-sandbox", "-unsafe-network"} {
				if !strings.Contains(usage, want) {
					t.Errorf("usage lacks %q", want)
				}
			}
		})
	}
}

func TestInstanceOrDefault(t *testing.T) {
	c := defaults()
	name := c.instanceOrDefault()
	if !instanceName.MatchString(name) {
		t.Errorf("default instance %q is not a valid -instance", name)
	}
	if !strings.HasSuffix(name, "-8080") {
		t.Errorf("default instance %q does not carry the listen port", name)
	}
	if again := c.instanceOrDefault(); again != name {
		t.Errorf("default instance not stable: %q then %q", name, again)
	}
	c.addr = "127.0.0.1:9090"
	if other := c.instanceOrDefault(); other == name {
		t.Errorf("servers on two ports share the instance %q", name)
	}
	c.instance = "blue"
	if got := c.instanceOrDefault(); got != "blue" {
		t.Errorf("instanceOrDefault = %q, want the flag's blue", got)
	}
}
