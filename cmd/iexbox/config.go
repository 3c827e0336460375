package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"iexbox/internal/docker"
	"iexbox/internal/flagenv"
	"iexbox/internal/kube"
	"iexbox/internal/process"
	"iexbox/internal/sandbox"
	"iexbox/internal/server"
	"iexbox/internal/store"
)

// errHelp is returned after -h printed the usage.
var errHelp = errors.New("help requested")

// config is the server's configuration, from flags and IEXBOX_* variables:
// the program's own, and each package's, bound by its owner.
type config struct {
	addr            string
	backend         string
	command         string
	unsafeNoSandbox bool
	instance        string
	shutdownTimeout time.Duration
	drainTimeout    time.Duration
	metricsAddr     string
	logFormat       string
	logLevel        string
	tokenSecretFile string
	tokenSecret     []byte // from the file or IEXBOX_TOKEN_SECRET, never a flag
	exercises       string
	toolchains      string

	policy sandbox.PolicyFlags
	stack  server.StackFlags
	docker docker.Flags
	kube   kube.Flags
	store  store.Config // -data, -database

	// Parsed once by validate, from the flags above.
	parsed
}

// parsed is what validate derives from the flags, once.
type parsed struct {
	dockerOpts docker.Options
	kubeCfg    kube.Config
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("iexbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address (host:port)")
	fs.StringVar(&c.backend, "backend", "docker", "where sandboxes run: docker (one Docker Engine), kubernetes (one Pod per session on a cluster) or process (a local pty that isolates nothing: development on this machine only; needs -unsafe-no-sandbox)")
	fs.StringVar(&c.command, "command", "iex", "program the process backend runs")
	fs.BoolVar(&c.unsafeNoSandbox, "unsafe-no-sandbox", false, "allow -backend process, which isolates nothing: every session runs programs as this server's user (on loopback only, and never with -origins, -hosts, -trusted-proxies or a token secret)")
	fs.StringVar(&c.instance, "instance", "", "name labelling this server's containers, stable across restarts (default: host name and listen port)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "longest wait for sessions and containers to end on SIGTERM")
	fs.StringVar(&c.tokenSecretFile, "token-secret-file", "", "file holding the secret that signs access tokens; when set (or IEXBOX_TOKEN_SECRET is), every hello must carry a valid token")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve /metrics on this separate address (host:port) only, keeping it off the public one (default: /metrics on -addr)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 0, "on SIGTERM, refuse new sessions and let live ones run this long before ending them (a second SIGTERM ends them at once; 0: end them at once)")
	fs.StringVar(&c.exercises, "exercises", "", "folder of exercises (each folder holding a test.exs is one, named by its path); default: the examples built in")
	fs.StringVar(&c.toolchains, "toolchains", "", "folder of toolchains lessons may pick (each folder holding a toolchain.json is one, named by its path); their images must be built first with `iexbox toolchains DIR`; default: only the built-in toolchain, default (-image)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	c.policy.RegisterFlags(fs)
	c.stack.RegisterFlags(fs)
	c.docker.RegisterFlags(fs)
	c.kube.RegisterFlags(fs)
	c.store.RegisterFlags(fs)
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
	if c.policy.Isolation == "process" {
		return errors.New("-runtime process is gone: the process backend, which isolates nothing, is -backend process -unsafe-no-sandbox")
	}
	switch c.backend {
	case "docker", "kubernetes":
	case "process":
		public := c.stack.Public()
		if c.tokenSecret != nil {
			public = append(public, "a token secret (-token-secret-file, IEXBOX_TOKEN_SECRET)")
		}
		if err := process.CheckLocal(c.unsafeNoSandbox, c.addr, public); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-backend %q: want docker, kubernetes or process", c.backend)
	}
	if err := c.docker.CheckNetwork(); err != nil {
		return err
	}
	if c.shutdownTimeout < 0 || c.drainTimeout < 0 {
		return errors.New("durations must not be negative")
	}
	if err := c.stack.Validate(); err != nil {
		return err
	}
	var err error
	if c.dockerOpts, err = c.docker.Options(); err != nil {
		return err
	}
	if err := c.policy.Parse(); err != nil {
		return err
	}
	if c.kubeCfg, err = c.kube.Config(c.policy.Policy, ""); err != nil {
		return err
	}
	if c.instance != "" && !instanceName.MatchString(c.instance) {
		return fmt.Errorf("-instance %q: use letters, digits, '.', '_' and '-'", c.instance)
	}
	return nil
}

// stackConfig is the server's configuration, each part as its package
// defines it, from the flags.
func (c *config) stackConfig() (server.StackConfig, error) {
	sc, err := c.stack.Config(c.addr)
	if err != nil {
		return sc, err
	}
	sc.Server.Instance = c.instanceOrDefault()
	sc.Server.TokenSecret = c.tokenSecret
	sc.Server.LocalOnly = c.backend == "process"
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
