package exercise

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"iexbox/internal/sandbox"
)

// runnerScript is the check BEAM's program (see runner.exs).
//
//go:embed runner.exs
var runnerScript string

// Config bounds the checks of a Set.
type Config struct {
	// Timeout bounds one check, from the request to its result.
	Timeout time.Duration
	Log     *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// The check BEAM's bounds. The sandbox's memory (256 MiB by default) is
// shared by the learner's iex and the check BEAM, and its pids limit (64)
// by both BEAMs' threads, so the check BEAM gets a share of each that the
// kernel enforces on its uid alone:
//   - checkProcs (RLIMIT_NPROC, per uid) bounds its processes and threads:
//     its 10 (9 BEAM threads and erl_child_setup) and two more, so a test
//     may run a program or two; a fork bomb stops there, and the apart
//     uid's count is its own, so the learner's iex never notices. It is
//     tight for gVisor's sake: there every process costs the container's
//     pids cgroup about two host tasks (its stub), on top of some 39 for
//     the sentry and both idle BEAMs, and a sentry that cannot start a
//     thread takes the whole sandbox down (seen at 16).
//   - checkAddressSpace (RLIMIT_AS) is the hard memory bound: an
//     allocation beyond it fails inside the BEAM, which exits, so the
//     kernel's OOM killer (which under gVisor takes the whole sandbox
//     down) never has to act. The BEAM's reservations are made small for
//     it: one malloc arena, a 32 MiB literal area, no super carrier.
//   - Files it writes to the shared /tmp (whose size -tmpfs-size bounds,
//     and which counts against the sandbox's memory) are removed with its
//     processes. RLIMIT_FSIZE cannot bound them: the BEAM's JIT sizes a
//     64 MiB memfd at start.
//   - checkMemory is the soft bound: any new process may hold half of it
//     (heap and binaries), and a watchdog halts the BEAM beyond it.
const (
	checkProcs        = 12
	checkAddressSpace = 320 << 20
	checkMemory       = 48 << 20
	// checkErlangFlags: one scheduler of each kind, no busy waiting, a
	// small process table, small reservations (see above).
	checkErlangFlags = "+S 1:1 +SDcpu 1:1 +SDio 1 +A 1 +sbwt none +sbwtdcpu none +sbwtdio none +P 16384 +MIscs 32 +MMscs 0"
	// bootTimeout bounds starting a check BEAM (a few seconds under gVisor).
	bootTimeout = 60 * time.Second
	// maxCheckOutput is the most output of a check BEAM kept; the result
	// comes last, so the tail is what is kept.
	maxCheckOutput = 256 << 10
)

// checkCommand starts the runner under the bounds above.
func checkCommand() []string {
	script := fmt.Sprintf("ulimit -c 0 && ulimit -u %d && ulimit -v %d && exec elixir -e \"$IEXBOX_RUNNER\"",
		checkProcs, checkAddressSpace>>10)
	return []string{"bash", "-c", script}
}

// BoundedElixir runs script with `elixir -e` apart from the terminal,
// under the limits of a check's BEAM (processes, address space): checking
// a toolchain with it proves that a check's BEAM starts there, whatever
// threads its OTP starts.
func BoundedElixir(script string) sandbox.ExecSpec {
	env := checkEnv()
	env[0] = "IEXBOX_RUNNER=" + script
	return sandbox.ExecSpec{Cmd: checkCommand(), Env: env, Apart: true}
}

func checkEnv() []string {
	return []string{
		"IEXBOX_RUNNER=" + runnerScript,
		"ERL_AFLAGS=" + checkErlangFlags,
		"ERL_CRASH_DUMP_BYTES=0", // no dump fills the shared /tmp
		"MALLOC_ARENA_MAX=1",
		"HOME=/tmp", // the learner's home is theirs alone
	}
}

// checker runs an exercise's checks in one session's sandbox. It keeps one
// check BEAM booted ahead (fresh for every check: a check's BEAM is ended
// with every process of its uid once it has answered).
type checker struct {
	sb  sandbox.Sandbox
	ex  *Exercise
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	next *runner // booting or ready; nil while a check runs
	// cleaning is closed once the last check's BEAM has ended and the
	// next one is booting; nil before the first check.
	cleaning chan struct{}
	closed   bool
	wg       sync.WaitGroup
}

var _ sandbox.Checker = (*checker)(nil)

// newChecker returns a checker for sb that starts booting at once.
func newChecker(sb sandbox.Sandbox, ex *Exercise, cfg Config) *checker {
	c := &checker{sb: sb, ex: ex, cfg: cfg, log: cfg.Log.With("exercise", ex.Name, "session", sb.ID())}
	c.mu.Lock()
	c.next = c.boot()
	c.mu.Unlock()
	return c
}

// runner is one check BEAM, booting or waiting for its request.
type runner struct {
	ready  chan struct{}      // closed once booted (or failed to)
	cancel context.CancelFunc // ends a boot under way
	// Set by the boot before ready is closed.
	proc sandbox.Process
	err  error
	rest []byte // output read past "ready"
}

// boot starts a check BEAM; its ready channel closes once it waits for a
// request. Called with c.mu held.
func (c *checker) boot() *runner {
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	r := &runner{ready: make(chan struct{}), cancel: cancel}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(r.ready)
		began := time.Now()
		for attempt := 1; ; attempt++ {
			err := c.start(ctx, r)
			if err == nil {
				c.log.Debug("check runner ready", "boot", time.Since(began).Round(time.Millisecond), "attempts", attempt)
				return
			}
			if attempt == bootAttempts || ctx.Err() != nil {
				r.err = err
				return
			}
			// The processes of the check before may still be on their
			// way out, holding the uid's process limit.
			c.log.Debug("check runner did not start; again", "err", err)
			select {
			case <-time.After(bootRetryPause):
			case <-ctx.Done():
				r.err = err
				return
			}
		}
	}()
	return r
}

// Starting a check BEAM is tried this often, this far apart.
const (
	bootAttempts   = 3
	bootRetryPause = 300 * time.Millisecond
)

// start starts one check BEAM and reads its output until it is ready; on
// failure it ends whatever it started.
func (c *checker) start(ctx context.Context, r *runner) error {
	proc, err := c.sb.Exec(ctx, sandbox.ExecSpec{Cmd: checkCommand(), Env: checkEnv(), Apart: true})
	if err != nil {
		return fmt.Errorf("start the check runner: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { proc.Close() })
	defer stop()
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := proc.Read(buf)
		out = append(out, buf[:n]...)
		if i := bytes.Index(out, []byte("ready\n")); i >= 0 {
			r.proc, r.rest = proc, out[i+len("ready\n"):]
			return nil
		}
		if err != nil || len(out) > 64<<10 {
			proc.Close()
			return fmt.Errorf("the check runner did not start: %s", lastLines(out))
		}
	}
}

// Check runs the exercise's tests against code in a fresh check BEAM,
// waiting at most sandbox.CheckBootWait for it, then giving the code the
// configured Timeout. It answers as soon as the result (or the deadline)
// is there; ending the
// BEAM and booting the next one go on in the background, and the next
// check waits for them.
func (c *checker) Check(ctx context.Context, code string) sandbox.CheckResult {
	// The wait for the BEAM (the last check's clean-up, then the boot) has
	// its own bound; the code's time starts once the BEAM is ready.
	bootCtx, cancelBoot := context.WithTimeout(ctx, sandbox.CheckBootWait)
	defer cancelBoot()
	c.mu.Lock()
	cleaning := c.cleaning
	c.mu.Unlock()
	if cleaning != nil {
		select {
		case <-cleaning:
		case <-bootCtx.Done():
			return failed(stillStarting)
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return failed("the session is ending")
	}
	r := c.next
	if r == nil {
		r = c.boot()
	}
	c.next = nil
	c.mu.Unlock()

	select {
	case <-r.ready:
	case <-bootCtx.Done():
		// The BEAM is still booting (a very busy host): keep it for the
		// next check rather than start over.
		c.mu.Lock()
		if c.next == nil && !c.closed {
			c.next, r = r, nil
		}
		c.mu.Unlock()
		if r != nil {
			r.close()
		}
		return failed(stillStarting)
	}
	if r.err != nil {
		c.log.Warn("check runner failed to start", "err", r.err)
		c.cleanUp(r, nil)
		return failed("the checker could not start; try again")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	nonce := make([]byte, 12)
	rand.Read(nonce)
	marker := hex.EncodeToString(nonce)
	req, _ := json.Marshal(map[string]any{
		"code": code, "tests": c.ex.Tests, "setup": c.ex.Setup, "nonce": marker,
		"timeout_ms": c.cfg.Timeout.Milliseconds(), "memory": checkMemory,
	})
	output := make(chan []byte, 1)
	go func() { // the one reader of the check's output; ends once r is closed
		output <- readTail(r.proc, r.rest, maxCheckOutput)
	}()
	go func() { // a BEAM that stopped reading cannot hold the check up
		if _, err := r.proc.Write(req); err == nil {
			r.proc.CloseWrite()
		}
	}()
	select {
	case out := <-output:
		c.cleanUp(r, nil)
		return parseResult(out, marker)
	case <-ctx.Done():
		c.cleanUp(r, output)
		return failed(c.timedOut(ctx))
	}
}

// stillStarting answers a check whose deadline came before its BEAM was up.
const stillStarting = "the checker is still starting (the server is busy): try again in a few seconds"

// cleanUp ends r's BEAM with every process of its uid, waits for its
// reader (when output is not nil), then boots the BEAM of the next check,
// all in the background; the next check waits for it.
func (c *checker) cleanUp(r *runner, output <-chan []byte) {
	done := make(chan struct{})
	c.mu.Lock()
	c.cleaning = done
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(done)
		began := time.Now()
		if err := r.close(); err != nil {
			c.log.Warn("end a check BEAM", "err", err)
		}
		if output != nil {
			<-output
		}
		c.log.Debug("check BEAM ended", "took", time.Since(began).Round(time.Millisecond))
		c.bootNext()
	}()
}

func (c *checker) timedOut(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("the check took longer than %s and was stopped: does the code loop forever, or wait for something that never comes?", c.cfg.Timeout)
	}
	return "the check was stopped"
}

// bootNext boots the BEAM for the next check, unless the checker is closed.
func (c *checker) bootNext() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed && c.next == nil {
		c.next = c.boot()
	}
}

// close ends the runner's BEAM, booting or not, and every process of its
// uid. Idempotent.
func (r *runner) close() error {
	r.cancel()
	<-r.ready
	if r.proc != nil {
		return r.proc.Close()
	}
	return nil
}

// Close ends the BEAM kept ready (or booting) and waits for its boot to
// end.
func (c *checker) Close() error {
	c.mu.Lock()
	c.closed = true
	r := c.next
	c.next = nil
	c.mu.Unlock()
	if r != nil {
		r.close()
	}
	c.wg.Wait()
	return nil
}

// readTail reads r to its end and returns the last max bytes of start and
// what it read.
func readTail(r io.Reader, start []byte, max int) []byte {
	out := append([]byte(nil), start...)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if len(out) > 2*max {
			out = append(out[:0], out[len(out)-max:]...)
		}
		if err != nil {
			if len(out) > max {
				out = out[len(out)-max:]
			}
			return out
		}
	}
}

// parseResult finds the runner's result after its marker.
func parseResult(out []byte, marker string) sandbox.CheckResult {
	i := bytes.LastIndex(out, []byte("\n"+marker+" "))
	if i < 0 {
		switch {
		case bytes.Contains(out, []byte("IEXBOX_OUTPUT")):
			return failed("the code printed more than 1 MiB, and the check was stopped")
		case bytes.Contains(out, []byte("IEXBOX_MEMORY")), bytes.Contains(out, []byte("Cannot allocate")),
			bytes.Contains(out, []byte("Failed to create super carrier")):
			return failed(fmt.Sprintf("the check used more memory than it may (%d MiB) and was stopped", checkMemory>>20))
		}
		return failed("the check ended without a result: " + lastLines(out))
	}
	line := out[i+len(marker)+2:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	var res sandbox.CheckResult
	if err := json.Unmarshal(line, &res); err != nil {
		return failed("the check's result could not be read")
	}
	switch res.Status {
	case sandbox.CheckPass, sandbox.CheckFail, sandbox.CheckError:
	default:
		return failed("the check's result could not be read")
	}
	if res.Tests == nil {
		res.Tests = []sandbox.TestResult{}
	}
	return res
}

func failed(msg string) sandbox.CheckResult {
	return sandbox.CheckResult{Status: sandbox.CheckError, Message: msg, Tests: []sandbox.TestResult{}}
}

// lastLines is the end of some output, for a message.
func lastLines(out []byte) string {
	s := strings.TrimSpace(string(out))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	if s == "" {
		return "(no output)"
	}
	return s
}
