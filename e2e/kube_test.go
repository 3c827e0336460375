package e2e

// The Kubernetes backend against a real cluster: scripts/kube-up.sh brings
// one up on this machine (make kube). Every test here starts servers with
// -backend kubernetes and the server's own least-privilege kubeconfig, and
// ends by counting the Pods of each of its instances (none may be left),
// besides the containers startServer already counts.

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"iexbox/internal/client"
)

// The cluster of scripts/kube-up.sh.
const (
	kubeStateDir     = "/var/lib/iexbox-kube"
	kubeNamespace    = "iexbox-sandboxes"
	kubeNode         = "iexbox-node"
	kubePodsGoneWait = 10 * time.Second
)

var (
	kubeAdminConfig  = kubeStateDir + "/admin.kubeconfig"  // for the tests' own checks
	kubeServerConfig = kubeStateDir + "/iexbox.kubeconfig" // the server's ServiceAccount
)

// kubeRuntimes are the isolations the Kubernetes cases run under: the
// node's runc, and gVisor through the RuntimeClass.
var kubeRuntimes = []struct{ name, runtime string }{
	{"runc", "runc"},
	{"gvisor", "runsc"},
}

// requireKube fails (CI=true) or skips the test without the cluster.
func requireKube(t *testing.T) {
	t.Helper()
	requireDocker(t)
	_, err := os.Stat(kubeServerConfig)
	if err == nil {
		_, err = kubectlErr("get", "--raw", "/readyz")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Kubernetes cluster (CI=true: make test brings one up with scripts/kube-up.sh): %v", err)
		}
		t.Skipf("no Kubernetes cluster (bring one up with scripts/kube-up.sh): %v", err)
	}
}

func kubectlPath() string {
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p
	}
	return "/var/cache/iexbox-kube/k8s-v1.37.2/bin/kubectl"
}

func kubectlErr(args ...string) (string, error) {
	out, err := exec.Command(kubectlPath(), append([]string{"--kubeconfig", kubeAdminConfig, "--request-timeout", "20s"}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectlErr(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pods lists the Pods (names) matching a label selector.
func pods(t *testing.T, selector string) []string {
	t.Helper()
	out := kubectl(t, "get", "pods", "-n", kubeNamespace, "-l", selector, "-o", "name")
	return strings.Fields(out)
}

// requireNoPods fails the test if Pods of instance are still there after
// kubePodsGoneWait.
func requireNoPods(t *testing.T, instance string) {
	t.Helper()
	deadline := time.Now().Add(kubePodsGoneWait)
	for {
		left := pods(t, labelInstance+"="+instance)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("pods of instance %s left: %v", instance, left)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startKubeServer starts a server on the cluster under runtime (runc or
// runsc). The cleanup, registered first so that it runs after the server
// has stopped, counts the instance's Pods.
func startKubeServer(t *testing.T, runtime string, flags ...string) *testServer {
	t.Helper()
	requireKube(t)
	instance := uniqueInstance(t)
	for i, f := range flags {
		if f == "-instance" && i+1 < len(flags) {
			instance = flags[i+1]
		}
	}
	t.Cleanup(func() { requireNoPods(t, instance) })
	args := append([]string{"-backend", "kubernetes", "-kubeconfig", kubeServerConfig, "-runtime", runtime, "-instance", instance}, flags...)
	s := startServer(t, args...)
	if want := runtime; s.status(t).Runtime != want {
		t.Fatalf("/status runtime %q, want %q", s.status(t).Runtime, want)
	}
	return s
}

// sessionPod is the one Pod of a session.
func sessionPod(t *testing.T, session string) string {
	t.Helper()
	names := pods(t, labelSession+"="+session)
	if len(names) != 1 {
		t.Fatalf("%d pods of session %s, want 1", len(names), session)
	}
	return strings.TrimPrefix(names[0], "pod/")
}

// requirePodGone waits for the session's Pod to be deleted.
func requirePodGone(t *testing.T, session string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(pods(t, labelSession+"="+session)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("pod of session %s still there %v after the session ended", session, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// nodeAddress is the node's InternalIP, where its API server and kubelet
// listen: no sandbox may reach either.
func nodeAddress(t *testing.T) string {
	t.Helper()
	ip := strings.TrimSpace(kubectl(t, "get", "node", kubeNode, "-o", `jsonpath={.status.addresses[?(@.type=="InternalIP")].address}`))
	if ip == "" || strings.HasPrefix(ip, "127.") {
		t.Fatalf("node InternalIP %q", ip)
	}
	return ip
}

// TestKubeSessions: the core, pool, share and resume cases on Pods.
func TestKubeSessions(t *testing.T) {
	for _, rt := range kubeRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			s := startKubeServer(t, rt.runtime, "-pool", "1")

			// Core: a warm session, its Pod, evaluation, size, the exit code.
			c, ready := openSessionFrom(t, s, "1", defaultCols, defaultRows)
			if ready.Runtime != rt.runtime {
				t.Errorf("ready runtime %q, want %q", ready.Runtime, rt.runtime)
			}
			pod := sessionPod(t, ready.Session)
			if got := c.eval(t, "1+1"); got != "2" {
				t.Errorf("1+1 printed %q", got)
			}
			if got := c.eval(t, ":io.columns()"); got != "{:ok, 200}" {
				t.Errorf(":io.columns() printed %q, want {:ok, 200}", got)
			}
			c.resize(t, 120, 40)
			c.evalUntil(t, ":io.rows()", "{:ok, 40}", evalWait)
			if s.started(t, "warm") != 1 {
				t.Errorf("warm starts %d, want 1", s.started(t, "warm"))
			}

			// Share: a viewer sees the presenter's output and cannot type.
			token := share(t, c)
			v, vready := watch(t, s, token)
			if vready.Session != ready.Session {
				t.Errorf("viewer watches %s, want %s", vready.Session, ready.Session)
			}
			v.send(t, "System.halt()\r") // never delivered
			c.eval(t, `IO.puts("shared " <> "output")`)
			v.waitOutput(t, "shared output", eventWait)

			c.send(t, "System.halt(3)\r")
			exit := c.waitEvent(t, "exit", evalWait)
			if exit.Reason != "exited" || exit.exitCode() != "3" {
				t.Errorf("exit %s, want exited with code 3", exit.raw)
			}
			c.requireClose(t, closeExited, eventWait)
			if e := v.waitEvent(t, "exit", eventWait); e.Reason != "exited" {
				t.Errorf("viewer told %s", e.raw)
			}
			requirePodGone(t, ready.Session, 5*time.Second)
			t.Logf("pod %s gone", pod)

			// Pool: it refills, and the next session is warm too.
			s.waitPoolReady(t)
			c2, _ := s.openSession(t, defaultCols, defaultRows)
			if got := c2.eval(t, "1+1"); got != "2" {
				t.Errorf("second session: 1+1 printed %q", got)
			}
			if s.started(t, "warm") != 2 {
				t.Errorf("warm starts %d, want 2", s.started(t, "warm"))
			}

			// Resume: a dropped connection finds its Pod again.
			r, rready, rtoken := openResumable(t, s)
			if got := r.eval(t, "x = 41"); got != "41" {
				t.Fatalf("x = 41 printed %q", got)
			}
			r.conn.Drop()
			time.Sleep(500 * time.Millisecond)
			sessionPod(t, rready.Session) // still there while detached
			r2 := resume(t, s, rtoken)
			if e := r2.waitEvent(t, "ready", eventWait); e.Session != rready.Session {
				t.Errorf("resumed %s, want %s", e.Session, rready.Session)
			}
			r2.waitPrompt(t, eventWait)
			if got := r2.eval(t, "x + 1"); got != "42" {
				t.Errorf("x + 1 after resuming printed %q", got)
			}
			mustSend(t, r2.conn.End())
			requirePodGone(t, rready.Session, 5*time.Second)
		})
	}
}

// TestKubeTimeouts: the idle timeout ends a session on a Pod and deletes it.
func TestKubeTimeouts(t *testing.T) {
	for _, rt := range kubeRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			s := startKubeServer(t, rt.runtime, "-idle-timeout", shortLimitArg, "-max-lifetime", "1m")
			c, ready := openTimedSession(t, s)
			requireWarning(t, c.waitEvent(t, "warning", shortLimit), "idle_timeout", ready.at)
			exit := c.waitEvent(t, "exit", shortLimit)
			if exit.Reason != "idle_timeout" || exit.exitCode() != "null" {
				t.Errorf("exit %s, want idle_timeout", exit.raw)
			}
			c.requireClose(t, closeIdleTimeout, eventWait)
			requirePodGone(t, ready.Session, 5*time.Second)
		})
	}
}

// kubeSecurityChecks are the rows of docs/security.md that have a
// Kubernetes form, asked from inside a session: what iex prints must match.
var kubeSecurityChecks = []struct{ name, expr, want string }{
	{"non-root uid of its own", `System.cmd("id", ["-u"]) |> elem(0) |> String.trim() |> String.to_integer() >= 100000`, "true"},
	{"no capabilities, no new privileges",
		`File.read!("/proc/self/status") |> String.split("\n") |> Enum.filter(&String.starts_with?(&1, ["CapEff", "CapPrm", "NoNewPrivs"])) |> Enum.map(&String.replace(&1, ~r/\s+/, " "))`,
		`["CapPrm: 0000000000000000", "CapEff: 0000000000000000", "NoNewPrivs: 1"]`},
	{"read-only root", `File.write("/usr/x", "x") in [{:error, :erofs}, {:error, :eacces}]`, "true"},
	{"no service account token", `File.exists?("/var/run/secrets/kubernetes.io/serviceaccount/token")`, "false"},
	{"no service links, no API server address", `System.get_env() |> Map.keys() |> Enum.filter(&(String.ends_with?(&1, ["_SERVICE_HOST", "_PORT"]) or String.starts_with?(&1, "KUBERNETES")))`, "[]"},
	{"resolver on loopback only", `File.read!("/etc/resolv.conf") =~ ~r/^nameserver 127\.0\.0\.1$/m and not (File.read!("/etc/resolv.conf") =~ ~r/^nameserver (?!127\.0\.0\.1)/m)`, "true"},
	{"no name resolution", `:inet.gethostbyname(~c"kubernetes.default.svc")`, "{:error, :nxdomain}"},
	{"tmp is size-limited", `Enum.reduce_while(1..80, 0, fn i, _ -> case File.write("/tmp/f#{i}", :binary.copy(<<0>>, 1_048_576)) do :ok -> {:cont, i}; e -> {:halt, {i, e}} end end) |> then(fn {n, e} -> n in 60..66 and e == {:error, :enospc}; _ -> false end)`, "true"},
	{"open files limited", `:os.cmd(~c"ulimit -n") |> to_string() |> String.trim()`, `"1024"`},
}

// TestKubeSecurity: the hardening of a sandbox Pod, from inside, and its
// way out to the API server blocked.
func TestKubeSecurity(t *testing.T) {
	requireKube(t)
	node := nodeAddress(t)
	for _, rt := range kubeRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			s := startKubeServer(t, rt.runtime, "-pool", "0")
			c, ready := s.openSession(t, defaultCols, defaultRows)
			for _, tc := range kubeSecurityChecks {
				t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
					if got := c.eval(t, tc.expr); got != tc.want {
						t.Errorf("%s printed %q, want %q", tc.expr, got, tc.want)
					}
				})
			}
			for _, port := range []string{"6443", "10250"} { // the API server, the kubelet
				t.Run("no_way_to_the_node_port_"+port, func(t *testing.T) {
					expr := fmt.Sprintf(`:gen_tcp.connect({%s}, %s, [], 3000) |> elem(0)`, strings.ReplaceAll(node, ".", ","), port)
					if got := c.eval(t, expr); got != ":error" {
						t.Errorf("%s printed %q, want :error", expr, got)
					}
				})
			}
			t.Run("only_loopback", func(t *testing.T) {
				expr := `{:ok, ifs} = :inet.getifaddrs(); Enum.map(ifs, &elem(&1, 0))`
				if got := c.eval(t, expr); got != `[~c"lo"]` {
					t.Errorf("interfaces %q, want only lo", got)
				}
			})
			t.Run("pod_spec", func(t *testing.T) {
				pod := sessionPod(t, ready.Session)
				spec := kubectl(t, "get", "pod", "-n", kubeNamespace, pod, "-o",
					`jsonpath={.spec.runtimeClassName}|{.spec.securityContext.seccompProfile.type}|{.spec.dnsPolicy}|{.spec.terminationGracePeriodSeconds}|{.spec.automountServiceAccountToken}|{.spec.resources.limits.memory}|{.spec.resources.limits.cpu}|{.spec.containers[*].resources.limits}`)
				class := ""
				if rt.runtime == "runsc" {
					class = "gvisor"
				}
				// One budget for both containers (Pod-level resources, on in
				// the test cluster), never -memory and -cpus each.
				if want := class + "|Localhost|None|0|false|256Mi|500m|"; spec != want {
					t.Errorf("pod spec %q, want %q", spec, want)
				}
			})
			t.Run("memory_limit", func(t *testing.T) {
				c.send(t, ":binary.copy(<<1>>, 400_000_000) |> byte_size()\r")
				exit := c.waitEvent(t, "exit", 30*time.Second)
				code := "137" // SIGKILL; the gVisor shim reports 128 for its OOM-killed container
				if rt.runtime == "runsc" {
					code = "128"
				}
				if exit.Reason != "oom" || exit.exitCode() != code {
					t.Errorf("exit %s, want oom with code %s", exit.raw, code)
				}
				requirePodGone(t, ready.Session, 5*time.Second)
			})
		})
	}
}

// TestKubeTwoServers: two servers share the cluster without touching each
// other's Pods, and their uids differ.
func TestKubeTwoServers(t *testing.T) {
	a := startKubeServer(t, "runc", "-pool", "0")
	b := startKubeServer(t, "runc", "-pool", "0")
	ca, ra := a.openSession(t, defaultCols, defaultRows)
	cb, rb := b.openSession(t, defaultCols, defaultRows)
	if n := len(pods(t, labelInstance+"="+a.Instance)); n != 1 {
		t.Errorf("%d pods of a, want 1", n)
	}
	if n := len(pods(t, labelInstance+"="+b.Instance)); n != 1 {
		t.Errorf("%d pods of b, want 1", n)
	}
	uid := `System.cmd("id", ["-u"]) |> elem(0) |> String.trim()`
	if ua, ub := ca.eval(t, uid), cb.eval(t, uid); ua == ub {
		t.Errorf("both sandboxes run as uid %s", ua)
	}
	a.stop(t)
	requirePodGone(t, ra.Session, 5*time.Second)
	if got := cb.eval(t, "1+1"); got != "2" {
		t.Errorf("b's session after a stopped: %q", got)
	}
	sessionPod(t, rb.Session)
}

// TestKubeServerKilled: a server killed with live sessions leaves their
// Pods; restarted under the same instance it deletes them before serving.
func TestKubeServerKilled(t *testing.T) {
	first := startKubeServer(t, "runc", "-pool", "0")
	var sessions []string
	for range 2 {
		_, ready := first.openSession(t, defaultCols, defaultRows)
		sessions = append(sessions, ready.Session)
	}
	first.kill(t)
	for _, id := range sessions {
		sessionPod(t, id) // left behind by the kill
	}
	second := startKubeServer(t, "runc", "-pool", "0", "-instance", first.Instance)
	for _, id := range sessions {
		if n := len(pods(t, labelSession+"="+id)); n != 0 {
			t.Errorf("pod of session %s still there after the restart", id)
		}
	}
	c, _ := second.openSession(t, defaultCols, defaultRows)
	if got := c.eval(t, "1+1"); got != "2" {
		t.Errorf("1+1 after the restart: %q", got)
	}
}

// TestKubePodDeletedOutside: a Pod deleted by someone else ends its
// session with error at once; nothing hangs.
func TestKubePodDeletedOutside(t *testing.T) {
	s := startKubeServer(t, "runc", "-pool", "0")
	c, ready := s.openSession(t, defaultCols, defaultRows)
	pod := sessionPod(t, ready.Session)
	began := time.Now()
	kubectl(t, "delete", "pod", "-n", kubeNamespace, pod, "--wait=false")
	exit := c.waitEvent(t, "exit", 15*time.Second)
	if exit.Reason != "error" {
		t.Errorf("exit %s, want error", exit.raw)
	}
	c.requireClose(t, 1011, eventWait)
	t.Logf("session ended %v after the delete", time.Since(began).Round(time.Millisecond))
	s.waitStatus(t, "no session", eventWait, func(st serverStatus) bool { return st.Sessions.Active == 0 })
}

// TestKubeUnschedulable: with no node taking Pods, a session is refused
// with capacity within the start bound, and no Pod is left. The node is
// cordoned for the test only.
func TestKubeUnschedulable(t *testing.T) {
	s := startKubeServer(t, "runc", "-pool", "0")
	kubectl(t, "cordon", kubeNode)
	t.Cleanup(func() { kubectl(t, "uncordon", kubeNode) })
	began := time.Now()
	c := s.connect(t)
	c.hello(t, defaultCols, defaultRows)
	e := c.waitEvent(t, "error", 60*time.Second)
	took := time.Since(began)
	if e.errorCode() != "capacity" {
		t.Errorf("refusal %s, want capacity", e.raw)
	}
	if took > 10*time.Second {
		t.Errorf("refused after %v, want within 10 s", took)
	}
	t.Logf("refused after %v: %s", took.Round(time.Millisecond), e.raw)
	// The log line may reach the test's pipe a moment after the event.
	why := regexp.MustCompile(`no node can take the pod`)
	for deadline := time.Now().Add(5 * time.Second); !why.MatchString(s.logs.String()) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if logs := s.logs.String(); !why.MatchString(logs) {
		t.Errorf("the log does not say why: %s", lastLines(logs, 10))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// TestKubeExerciseCheck: exercise checks run through pods/exec beside the
// learner's iex, in the Pod's apart container as the sandbox's second uid
// (pods/exec cannot change uid; a container can have its own). A wrong
// answer fails with ExUnit's message, code that does not compile is an
// error, the memory, fork-bomb and output runaways end as errors saying
// why, as on Docker; a check made 5 s after the one before it ended never
// needs a retry; what a check leaves in /tmp goes with it, and the
// learner's iex, its file and its program live on (requireCheckApart).
func TestKubeExerciseCheck(t *testing.T) {
	for _, rt := range kubeRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			s := startKubeServer(t, rt.runtime, "-pool", "0", "-check-timeout", checkTimeout.String())
			c := s.connect(t)
			c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Exercise: "enum/double"})
			c.waitEvent(t, "ready", readyWait)
			c.waitPrompt(t, readyWait)
			if got := c.eval(t, "learned = 41"); got != "41" {
				t.Fatalf("learned = 41 gave %q", got)
			}
			res, took := c.checkRan(t, "first", doubleFixed) // may wait for the first BEAM's boot
			if res.Status != "pass" || len(res.Tests) != 5 {
				t.Fatalf("the reference answer: %+v", res)
			}
			t.Logf("first check: %v", took.Round(time.Millisecond))

			// Every later check comes 5 s after the one before it ended: the
			// checker must be ready by then, never "still starting".
			checkAfterPause := func(id, code string) checked {
				t.Helper()
				time.Sleep(5 * time.Second)
				res, took := c.check(t, id, code)
				t.Logf("%s: %s after %v: %s", id, res.Status, took.Round(time.Millisecond), res.Message)
				if strings.Contains(res.Message, "still starting") {
					t.Errorf("check %s, made 5 s after the one before it ended: %q", id, res.Message)
				}
				return res
			}
			res = checkAfterPause("wrong", doubleWrong)
			if res.Status != "fail" || len(res.Tests) == 0 || !strings.Contains(res.Tests[0].Message+res.Tests[len(res.Tests)-1].Message, "Assertion with == failed") {
				t.Errorf("the wrong answer: %+v, want a failure with ExUnit's message", res)
			}
			res = checkAfterPause("broken", doubleBroken)
			if res.Status != "error" || !strings.Contains(res.Message, "solution.ex") {
				t.Errorf("code that does not compile: %+v, want an error naming solution.ex", res)
			}
			for _, r := range runaways {
				if r.name != "allocation" && r.name != "fork bomb" && r.name != "output" {
					continue
				}
				res := checkAfterPause(r.name, r.code)
				if res.Status != "error" || !strings.Contains(res.Message, r.want) {
					t.Errorf("%s: status %q (%q), want an error saying %q", r.name, res.Status, res.Message, r.want)
				}
				if got := c.eval(t, "learned + 1"); got != "42" {
					t.Fatalf("after the %s check, learned + 1 = %q: the learner's iex lost its state", r.name, got)
				}
			}
			time.Sleep(5 * time.Second)
			requireCheckApart(t, c)
			if got := c.eval(t, "learned + 1"); got != "42" {
				t.Errorf("at the end, learned + 1 = %q", got)
			}
		})
	}
}

// TestKubeToolchain: on Kubernetes a session runs in the example
// toolchain (its image imported onto the node, never pulled), and a
// toolchain whose image no node has keeps the server from starting,
// naming it.
func TestKubeToolchain(t *testing.T) {
	requireKube(t)
	dir := toolchainsDir(t)
	requireToolchainImages(t, dir)
	for _, rt := range kubeRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			s := startKubeServer(t, rt.runtime, "-pool", "0", "-toolchains", dir)
			c := s.connect(t)
			c.helloWith(t, client.Hello{Cols: defaultCols, Rows: defaultRows, Toolchain: exampleToolchain})
			ready := c.waitEvent(t, "ready", readyWait)
			c.waitPrompt(t, readyWait)
			if v := versionsOf(t, ready); v.Toolchain != exampleToolchain || v.Runtime != rt.runtime {
				t.Errorf("ready %s: want the toolchain %s on %s", ready.raw, exampleToolchain, rt.runtime)
			}
			if got := c.eval(t, `{System.otp_release() >= "29", Lesson.CSVLine.parse("4,5")}`); got != "{true, {:ok, [4, 5]}}" {
				t.Errorf("the toolchain on Kubernetes: %q", got)
			}
			c.closeNormally()
		})
	}

	missing := t.TempDir()
	writeFiles(t, missing, map[string]string{"never/built/toolchain.json": `{"description": "on no node"}`})
	cmd := exec.Command(serverBinary, "-backend", "kubernetes", "-kubeconfig", kubeServerConfig, "-runtime", "runc",
		"-addr", freeAddr(t), "-instance", uniqueInstance(t), "-toolchains", missing)
	cmd.Env = serverEnv()
	out, err := runBounded(cmd, serverStartWait)
	if err == nil || !strings.Contains(out, "never/built") || !strings.Contains(out, "not on the nodes") {
		t.Errorf("a toolchain on no node: err %v, output:\n%s", err, out)
	}
}
