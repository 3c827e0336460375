package main

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

// env is a getenv over a fixed set of variables.
func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func defaults() config {
	return config{
		addr:            "127.0.0.1:8080",
		backend:         "docker",
		image:           "iexbox-sandbox:latest",
		runtime:         "auto",
		command:         "iex",
		idleTimeout:     5 * time.Minute,
		maxLifetime:     30 * time.Minute,
		pool:            "auto",
		poolMax:         200,
		poolMemory:      0.3,
		poolMaxAge:      30 * time.Minute,
		bootParallel:    runtime.NumCPU() + 1,
		queueTimeout:    60 * time.Second,
		queueMax:        500,
		clientQueue:     200,
		clientBurst:     120,
		clientFloor:     4,
		clientFairFrom:  0.5,
		memory:          "256m",
		cpus:            0.5,
		pids:            64,
		nofile:          1024,
		tmpfsSize:       "64m",
		network:         "none",
		readOnly:        true,
		dns:             "127.0.0.1",
		user:            "10001:10001",
		uidBase:         100000,
		seccomp:         true,
		shutdownTimeout: 30 * time.Second,
		logFormat:       "text",
		logLevel:        "info",
		clientRate:      30,
		inputRate:       "256k",
		inputBurst:      "1m",
		cgroupParent:    "iexbox",
		resumeGrace:     30 * time.Second,
		maxViewers:      200,
		maxViewersTotal: 2000,
		tokenMaxLife:    24 * time.Hour,
		checkTimeout:    10 * time.Second,
		namespace:       "iexbox-sandboxes",
		serverNamespace: "iexbox",
		runtimeClass:    "gvisor",
		data:            "/var/lib/iexbox",
		recordings:      "on",
		recordMaxBytes:  "8m",
		recordStorage:   "2g",
		recordRate:      10,
		recordRetention: 30 * 24 * time.Hour,
	}
}

// TestParseConfigDefaults pins every default: a change to one is a change
// to the documented, safe configuration.
func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig([]string{"iexbox"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.policy, sandbox.Default()) {
		t.Errorf("policy from the default flags\n got %+v\nwant %+v", c.policy, sandbox.Default())
	}
	c.parsed = parsed{}
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
				c.addr, c.idleTimeout, c.maxLifetime, c.maxSessions = "127.0.0.1:9000", 90*time.Second, time.Hour, 7
				c.origins, c.memory, c.cpus, c.pids, c.runtime, c.instance = "https://a.example", "512m", 1.5, 128, "runsc", "blue"
			}},
		{"environment", nil, map[string]string{
			"IEXBOX_ADDR": "127.0.0.1:9000", "IEXBOX_IDLE_TIMEOUT": "90s", "IEXBOX_MAX_LIFETIME": "1h",
			"IEXBOX_MAX_SESSIONS": "7", "IEXBOX_ORIGINS": "https://a.example", "IEXBOX_MEMORY": "512m",
			"IEXBOX_CPUS": "1.5", "IEXBOX_PIDS": "128", "IEXBOX_RUNTIME": "runsc", "IEXBOX_INSTANCE": "blue",
			"IEXBOX_IMAGE": "my/image:1", "IEXBOX_READ_ONLY": "false", "IEXBOX_SHUTDOWN_TIMEOUT": "5s",
			"IEXBOX_TMPFS_SIZE": "32m", "IEXBOX_LOG_LEVEL": "debug", "IEXBOX_NOFILE": "256",
		}, func(c *config) {
			c.addr, c.idleTimeout, c.maxLifetime, c.maxSessions = "127.0.0.1:9000", 90*time.Second, time.Hour, 7
			c.origins, c.memory, c.cpus, c.pids, c.runtime, c.instance = "https://a.example", "512m", 1.5, 128, "runsc", "blue"
			c.image, c.readOnly, c.shutdownTimeout, c.tmpfsSize, c.logLevel, c.nofile = "my/image:1", false, 5*time.Second, "32m", "debug", 256
		}},
		{"flag wins over environment", []string{"-idle-timeout", "2m"}, map[string]string{"IEXBOX_IDLE_TIMEOUT": "1m"},
			func(c *config) { c.idleTimeout = 2 * time.Minute }},
		{"flag set to its default still wins", []string{"-read-only=true", "-memory", "256m"},
			map[string]string{"IEXBOX_READ_ONLY": "false", "IEXBOX_MEMORY": "1g"}, func(*config) {}},
		{"environment fills what flags leave", []string{"-idle-timeout", "2m"}, map[string]string{"IEXBOX_MAX_LIFETIME": "10m"},
			func(c *config) { c.idleTimeout, c.maxLifetime = 2*time.Minute, 10*time.Minute }},
		{"empty variable is unset", nil, map[string]string{"IEXBOX_IDLE_TIMEOUT": ""}, func(*config) {}},
		{"zero disables a limit", []string{"-idle-timeout", "0", "-max-lifetime", "0"}, nil,
			func(c *config) { c.idleTimeout, c.maxLifetime = 0, 0 }},
		{"process backend on loopback", []string{"-backend", "process", "-command", "cat -u"}, nil,
			func(c *config) { c.backend, c.command = "process", "cat -u" }},
		{"-runtime process is -backend process", []string{"-runtime", "process", "-command", "cat -u"}, nil,
			func(c *config) { c.backend, c.command = "process", "cat -u" }},
		{"kubernetes backend", []string{"-backend", "kubernetes", "-kubeconfig", "/k", "-namespace", "s", "-runtime-class", "rc",
			"-node-selector", "a=b, c=d"}, map[string]string{"IEXBOX_SERVER_NAMESPACE": "srv"},
			func(c *config) {
				c.backend, c.kubeconfig, c.namespace, c.runtimeClass, c.nodeSelector = "kubernetes", "/k", "s", "rc", "a=b, c=d"
				c.serverNamespace = "srv"
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
			got.parsed, want.parsed = parsed{}, parsed{}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseConfigProcessRuntimeLoopbackOnly(t *testing.T) {
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
			_, err := parseConfig([]string{"iexbox", "-runtime", "process", "-addr", tt.addr}, env(nil), io.Discard)
			if (err == nil) != tt.ok {
				t.Fatalf("-runtime process -addr %s: %v, want ok: %v", tt.addr, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "loopback") {
				t.Errorf("error %q does not say why", err)
			}
		})
	}
	// Through the environment too.
	if _, err := parseConfig([]string{"iexbox"}, env(map[string]string{"IEXBOX_RUNTIME": "process", "IEXBOX_ADDR": ":8080"}), io.Discard); err == nil {
		t.Errorf("process runtime on :8080 from the environment was accepted")
	}
	// Docker runtimes may listen anywhere.
	if _, err := parseConfig([]string{"iexbox", "-addr", "0.0.0.0:8080"}, env(nil), io.Discard); err != nil {
		t.Errorf("runc on 0.0.0.0:8080: %v", err)
	}
}

func TestParseConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error
	}{
		{"memory not a size", []string{"-memory", "lots"}, nil, `-memory "lots"`},
		{"memory too small", []string{"-memory", "1k"}, nil, `-memory "1k"`},
		{"memory empty", []string{"-memory", ""}, nil, "-memory"},
		{"memory from env", nil, map[string]string{"IEXBOX_MEMORY": "huge"}, `-memory "huge"`},
		{"tmpfs size", []string{"-tmpfs-size", "x"}, nil, "-tmpfs-size"},
		{"unknown runtime", []string{"-runtime", "kata"}, nil, "want auto, runsc or runc"},
		{"unknown backend", []string{"-backend", "lxc"}, nil, "want docker, kubernetes or process"},
		{"node selector without value", []string{"-node-selector", "a"}, nil, "-node-selector"},
		{"instance with spaces", []string{"-instance", "my box"}, nil, "-instance"},
		{"instance with slash", []string{"-instance", "a/b"}, nil, "-instance"},
		{"instance leading dash", []string{"-instance", "-x"}, nil, "-instance"},
		{"instance too long", []string{"-instance", strings.Repeat("a", 64)}, nil, "-instance"},
		{"negative idle", []string{"-idle-timeout", "-1s"}, nil, "negative"},
		{"negative sessions", []string{"-max-sessions", "-1"}, nil, "-max-sessions"},
		{"zero cpus", []string{"-cpus", "0"}, nil, "positive"},
		{"zero pids", []string{"-pids", "0"}, nil, "positive"},
		{"duration not a duration", []string{"-idle-timeout", "5"}, nil, "idle-timeout"},
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
				"-max-sessions", "-origins", "-memory", "-cpus", "-pids", "-instance", "-shutdown-timeout", "make image"} {
				if !strings.Contains(usage, want) {
					t.Errorf("usage lacks %q", want)
				}
			}
		})
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, "127.255.0.1:1": true,
		"0.0.0.0:1": false, ":1": false, "[::]:1": false, "10.0.0.1:1": false, "localhost": false, "notlocalhost:1": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
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

func TestSplitList(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "[]",
		"127.0.0.1":           "[127.0.0.1]",
		" 1.1.1.1 , ,8.8.8.8": "[1.1.1.1 8.8.8.8]",
	} {
		if got := splitList(in); strings.Join(got, " ") != strings.Trim(want, "[]") {
			t.Errorf("splitList(%q) = %q, want %s", in, got, want)
		}
	}
}

func TestParseSelector(t *testing.T) {
	got, err := parseSelector(" sandbox=gvisor , zone=a")
	if err != nil || !reflect.DeepEqual(got, map[string]string{"sandbox": "gvisor", "zone": "a"}) {
		t.Errorf("got %v, %v", got, err)
	}
	if got, err := parseSelector(""); err != nil || got != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	if _, err := parseSelector("=x"); err == nil {
		t.Error("accepted an empty key")
	}
}
