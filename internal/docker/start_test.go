package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"

	"iexbox/internal/sandbox"
)

// startSandbox starts a sandbox on f; cleanup closes it.
func startSandbox(t *testing.T, f *fakeAPI, rt *Runtime, spec sandbox.Spec) *Sandbox {
	t.Helper()
	sb, err := rt.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		sb.Close()
		if c := f.containerEnd(); c != nil {
			c.Close()
		}
	})
	return sb.(*Sandbox)
}

func TestStartOrder(t *testing.T) {
	f := newFakeAPI()
	rt := newTestRuntime(t, f, Config{})
	startSandbox(t, f, rt, sandbox.Spec{ID: "s1", Cols: 100, Rows: 30})

	// Attach and wait before start, or the banner and the exit are lost;
	// resize once running.
	want := []string{"create", "attach", "wait", "start", "resize"}
	if got := f.gotCalls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if f.waitCond != container.WaitConditionNextExit {
		t.Errorf("wait condition %q, want %q", f.waitCond, container.WaitConditionNextExit)
	}
	if len(f.resizes) != 1 || f.resizes[0].Width != 100 || f.resizes[0].Height != 30 {
		t.Errorf("resizes %+v, want one to 100x30", f.resizes)
	}
	a := f.attachOpts
	if !a.Stream || !a.Stdin || !a.Stdout || !a.Stderr {
		t.Errorf("attach %+v, want stream, stdin, stdout and stderr", a)
	}
	if a.DetachKeys == "" || strings.Contains(a.DetachKeys, "ctrl-p") {
		t.Errorf("detach keys %q: Ctrl-P must reach iex (moby#32895)", a.DetachKeys)
	}
}

// TestStartHardening checks the create request carries the hardening, as
// cmd/iexbox configures it by default.
func TestStartHardening(t *testing.T) {
	f := newFakeAPI()
	rt := newTestRuntime(t, f, Config{
		Policy: sandbox.Policy{
			Memory:    256 << 20,
			CPUs:      0.5,
			Pids:      64,
			NoFile:    1024,
			TmpfsSize: 64 << 20,
			User:      "10001:10001",
		},
		Instance: "test-inst",
		Network:  "none",
		DNS:      []string{"127.0.0.1"},
	})
	startSandbox(t, f, rt, sandbox.Spec{ID: "sess-42", Cols: 120, Rows: 40})
	cfg, host := f.createCfg, f.createHost

	if f.createName != "iexbox-sess-42" {
		t.Errorf("container name %q, want iexbox-sess-42", f.createName)
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"image", cfg.Image == sandbox.Default().Image},
		{"tty", cfg.Tty},
		{"open stdin", cfg.OpenStdin},
		{"stdin not once", !cfg.StdinOnce},
		{"attach streams", cfg.AttachStdin && cfg.AttachStdout && cfg.AttachStderr},
		{"non-root user", cfg.User == "10001:10001"},
		{"label instance", cfg.Labels[LabelInstance] == "test-inst"},
		{"label session", cfg.Labels[LabelSession] == "sess-42"},
		{"env HOME", hasEnv(cfg.Env, "HOME=/home/iex")},
		{"env LANG", hasEnv(cfg.Env, "LANG=C.UTF-8")},
		{"env ERL_AFLAGS", hasEnv(cfg.Env, "ERL_AFLAGS="+sandbox.DefaultErlangFlags)},
		{"network none", host.NetworkMode == "none"},
		{"read-only root", host.ReadonlyRootfs},
		{"cap drop ALL", fmt.Sprint(host.CapDrop) == "[ALL]" && len(host.CapAdd) == 0},
		{"no-new-privileges", slices.Contains(host.SecurityOpt, "no-new-privileges")},
		{"own seccomp profile", len(host.SecurityOpt) == 2 && strings.HasPrefix(host.SecurityOpt[1], "seccomp={")},
		{"not privileged", !host.Privileged},
		{"private ipc", host.IpcMode == container.IPCModePrivate},
		{"no mounts", len(host.Binds) == 0 && len(host.Mounts) == 0},
		{"dns", fmt.Sprint(host.DNS) == "[127.0.0.1]"},
		{"log driver none", host.LogConfig.Type == "none"},
		{"runtime", host.Runtime == "runc"},
		{"console size rows, cols", host.ConsoleSize == [2]uint{40, 120}},
		{"memory", host.Memory == 256<<20},
		{"no swap", host.MemorySwap == host.Memory},
		{"cpus", host.NanoCPUs == 500_000_000},
		{"pids", host.PidsLimit != nil && *host.PidsLimit == 64},
		{"nofile", len(host.Ulimits) == 1 && host.Ulimits[0].Name == "nofile" &&
			host.Ulimits[0].Soft == 1024 && host.Ulimits[0].Hard == 1024},
		{"no restart", host.RestartPolicy.Name == "" || host.RestartPolicy.Name == container.RestartPolicyDisabled},
		{"not auto-removed behind our back", !host.AutoRemove},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("hardening: %s is wrong", c.what)
		}
	}
	if len(host.Tmpfs) != 2 {
		t.Errorf("tmpfs %v, want /tmp and the home directory", host.Tmpfs)
	}
	for _, dir := range []string{"/tmp", "/home/iex"} {
		opts := strings.Split(host.Tmpfs[dir], ",")
		for _, want := range []string{"noexec", "nosuid", "nodev", "size=67108864"} {
			if !contains(opts, want) {
				t.Errorf("tmpfs %s options %q lack %s", dir, host.Tmpfs[dir], want)
			}
		}
	}
	if home := host.Tmpfs["/home/iex"]; !strings.Contains(home, "uid=10001") || !strings.Contains(home, "gid=10001") {
		t.Errorf("home tmpfs %q is not owned by the sandbox user", home)
	}
}

// TestConfigDefaults checks a zero Config still yields the safe settings.
func TestConfigDefaults(t *testing.T) {
	r := New(newFakeAPI(), Config{}, slog.New(slog.DiscardHandler), nil)
	c := r.cfg
	cfg := c.containerConfig("s")
	host, err := r.hostConfig(80, 24, c.fixedUser())
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !host.ReadonlyRootfs:
		t.Error("root file system is writable")
	case cfg.Image != sandbox.Default().Image:
		t.Errorf("image %q", cfg.Image)
	case cfg.User == "" || strings.HasPrefix(cfg.User, "0:") || cfg.User == "root":
		t.Errorf("user %q, want non-root", cfg.User)
	case !slices.Equal(cfg.Cmd, sandbox.IExCmd):
		t.Errorf("cmd %v", cfg.Cmd)
	case host.NetworkMode != "none":
		t.Errorf("network %q", host.NetworkMode)
	case host.Memory != 256<<20 || host.MemorySwap != host.Memory:
		t.Errorf("memory %d swap %d", host.Memory, host.MemorySwap)
	case *host.PidsLimit != 64 || host.NanoCPUs != 500_000_000:
		t.Errorf("pids %d cpus %d", *host.PidsLimit, host.NanoCPUs)
	case host.Runtime != "runc":
		t.Errorf("runtime %q", host.Runtime)
	case fmt.Sprint(host.CapDrop) != "[ALL]" || host.LogConfig.Type != "none":
		t.Errorf("cap drop %v, log %q", host.CapDrop, host.LogConfig.Type)
	}
	if rt := New(nil, Config{Policy: sandbox.Policy{Isolation: "runsc"}}, nil, nil); rt.Name() != "runsc" {
		t.Errorf("Name = %q, want runsc", rt.Name())
	}
}

func hasEnv(env []string, kv string) bool { return contains(env, kv) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestSandboxStreams(t *testing.T) {
	f := newFakeAPI()
	rt := newTestRuntime(t, f, Config{})
	sb := startSandbox(t, f, rt, sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
	if sb.ContainerID() != testID || sb.ID() != "s" {
		t.Errorf("ContainerID = %q, ID = %q; want the container's and the session's", sb.ContainerID(), sb.ID())
	}
	ctr := f.containerEnd()

	go ctr.Write([]byte("iex(1)> "))
	buf := make([]byte, 64)
	n, err := sb.Read(buf)
	if err != nil || string(buf[:n]) != "iex(1)> " {
		t.Errorf("Read = %q, %v; want the prompt", buf[:n], err)
	}

	go sb.Write([]byte("1+1\r"))
	n, err = ctr.Read(buf)
	if err != nil || string(buf[:n]) != "1+1\r" {
		t.Errorf("container got %q, %v; want the input", buf[:n], err)
	}

	if err := sb.Resize(t.Context(), 132, 43); err != nil {
		t.Fatal(err)
	}
	if last := f.resizes[len(f.resizes)-1]; last.Width != 132 || last.Height != 43 {
		t.Errorf("resize %+v, want 132x43", last)
	}

	ctr.Close() // the container's stream ends
	if _, err := sb.Read(buf); err != io.EOF {
		t.Errorf("Read after the stream ended = %v, want io.EOF", err)
	}
}

func TestStartFailureRemovesContainer(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		setup     func(*fakeAPI)
		wantCalls []string
	}{
		{"create fails", func(f *fakeAPI) { f.createErr = boom }, []string{"create"}},
		{"attach fails", func(f *fakeAPI) { f.attachErr = boom }, []string{"create", "attach", "remove"}},
		{"start fails", func(f *fakeAPI) { f.startErr = boom }, []string{"create", "attach", "wait", "start", "remove"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI()
			tt.setup(f)
			rt := newTestRuntime(t, f, Config{})
			sb, err := rt.Start(t.Context(), sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
			if err == nil {
				sb.Close()
				t.Fatal("Start succeeded")
			}
			if !errors.Is(err, boom) {
				t.Errorf("Start = %v, want it to wrap the cause", err)
			}
			if got := f.gotCalls(); fmt.Sprint(got) != fmt.Sprint(tt.wantCalls) {
				t.Errorf("calls %v, want %v", got, tt.wantCalls)
			}
			checkRemovedOnce(t, f)
			checkStreamClosed(t, f)
		})
	}
}

// TestStartFailureRemovesDespiteCancelledContext checks the removal after a
// failed start does not reuse the request's dead context.
func TestStartFailureRemovesDespiteCancelledContext(t *testing.T) {
	f := newFakeAPI()
	ctx, cancel := context.WithCancel(t.Context())
	f.onStart = cancel
	f.startErr = context.Canceled
	rt := newTestRuntime(t, f, Config{})
	if _, err := rt.Start(ctx, sandbox.Spec{ID: "s", Cols: 80, Rows: 24}); err == nil {
		t.Fatal("Start succeeded")
	}
	checkRemovedOnce(t, f)
	checkStreamClosed(t, f)
}

func checkRemovedOnce(t *testing.T, f *fakeAPI) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.createErr != nil {
		if len(f.removed) != 0 {
			t.Errorf("removed %v though nothing was created", f.removed)
		}
		return
	}
	if len(f.removed) != 1 || f.removed[0] != testID || !f.removeOpts[0].Force {
		t.Errorf("removed %v with %+v, want the container once, forced", f.removed, f.removeOpts)
	}
}

// checkStreamClosed checks the adapter closed its end of the attach stream
// and stopped its wait.
func checkStreamClosed(t *testing.T, f *fakeAPI) {
	t.Helper()
	ctr := f.containerEnd()
	if ctr == nil {
		return
	}
	defer ctr.Close()
	ctr.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := ctr.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("container end read %v, want io.EOF: the stream was left open", err)
	}
	f.mu.Lock()
	waitCtx := f.waitCtx
	f.mu.Unlock()
	if waitCtx != nil {
		select {
		case <-waitCtx.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("the wait was left running")
		}
	}
}

func TestStartRetriesResize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeAPI()
		notYet := errdefs.Conflict(errors.New("container is not running"))
		f.resizeErrs = []error{notYet, notYet, notYet}
		rt := newTestRuntime(t, f, Config{})
		start := time.Now()
		startSandbox(t, f, rt, sandbox.Spec{ID: "s", Cols: 90, Rows: 20})
		if took := time.Since(start); took != 3*resizeBackoff {
			t.Errorf("Start took %v, want 3 backoffs (%v)", took, 3*resizeBackoff)
		}
		if len(f.resizes) != 4 {
			t.Fatalf("%d resizes, want 4 (3 refused, 1 accepted)", len(f.resizes))
		}
		for _, r := range f.resizes {
			if r.Width != 90 || r.Height != 20 {
				t.Errorf("resize %+v, want 90x20", r)
			}
		}
	})
}

func TestStartGivesUpOnResize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeAPI()
		f.resizeErr = errors.New("no tty")
		rt := newTestRuntime(t, f, Config{})
		_, err := rt.Start(t.Context(), sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
		if err == nil || !errors.Is(err, f.resizeErr) {
			t.Fatalf("Start = %v, want the resize error", err)
		}
		if len(f.resizes) != resizeAttempts {
			t.Errorf("%d resizes, want %d", len(f.resizes), resizeAttempts)
		}
		checkRemovedOnce(t, f)
		checkStreamClosed(t, f)
	})
}

func TestStartResizeStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeAPI()
		f.resizeErr = errors.New("no tty")
		rt := newTestRuntime(t, f, Config{})
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Millisecond)
		defer cancel()
		_, err := rt.Start(ctx, sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Start = %v, want DeadlineExceeded", err)
		}
		checkRemovedOnce(t, f)
		checkStreamClosed(t, f)
	})
}

// TestStartProgramDiedAtOnce checks a container that exits before it can be
// resized is handed over, so the session reports its exit.
func TestStartProgramDiedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeAPI()
		f.resizeErr = errdefs.Conflict(errors.New("container is not running"))
		f.onStart = func() { f.exit <- container.WaitResponse{StatusCode: 1} }
		f.inspect = oomState(false)
		rt := newTestRuntime(t, f, Config{})
		sb := startSandbox(t, f, rt, sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
		st, err := sb.Wait(t.Context())
		if err != nil || st.Code == nil || *st.Code != 1 {
			t.Errorf("Wait = %+v, %v; want code 1", st, err)
		}
	})
}

func TestSandboxClose(t *testing.T) {
	tests := []struct {
		name      string
		removeErr error
		wantErr   bool
	}{
		{"removed", nil, false},
		{"already gone", errdefs.NotFound(errors.New("no such container")), false},
		{"removal in progress", errdefs.Conflict(errors.New("removal already in progress")), false},
		{"engine fails", errdefs.System(errors.New("disk on fire")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI()
			f.removeErr = map[string]error{testID: tt.removeErr}
			rt := newTestRuntime(t, f, Config{})
			sb := startSandbox(t, f, rt, sandbox.Spec{ID: "s", Cols: 80, Rows: 24})

			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Go(func() { errs[i] = sb.Close() })
			}
			wg.Wait()
			for i, err := range errs {
				if (err != nil) != tt.wantErr {
					t.Errorf("Close #%d = %v, want error: %v", i, err, tt.wantErr)
				}
				if tt.wantErr && !errors.Is(err, tt.removeErr) {
					t.Errorf("Close #%d = %v, want it to wrap %v", i, err, tt.removeErr)
				}
			}
			f.mu.Lock()
			removed, opts := f.removed, f.removeOpts
			f.mu.Unlock()
			if len(removed) != 1 || removed[0] != testID {
				t.Fatalf("removed %v, want the container exactly once", removed)
			}
			if !opts[0].Force {
				t.Errorf("remove %+v, want Force", opts[0])
			}
			checkStreamClosed(t, f)
		})
	}
}

func TestSandboxWait(t *testing.T) {
	tests := []struct {
		name     string
		exit     container.WaitResponse
		inspect  container.InspectResponse
		inspErr  error
		wantCode int
		wantOOM  bool
		wantErr  bool
	}{
		{"exit 0", container.WaitResponse{StatusCode: 0}, oomState(false), nil, 0, false, false},
		{"System.halt(3)", container.WaitResponse{StatusCode: 3}, oomState(false), nil, 3, false, false},
		{"OOM killed", container.WaitResponse{StatusCode: 137}, oomState(true), nil, 137, true, false},
		{"killed, not OOM", container.WaitResponse{StatusCode: 137}, oomState(false), nil, 137, false, false},
		{"no state", container.WaitResponse{StatusCode: 1}, container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{}}, nil, 1, false, false},
		{"wait error", container.WaitResponse{StatusCode: 0, Error: &container.WaitExitError{Message: "lost"}}, oomState(false), nil, 0, false, true},
		{"inspect fails", container.WaitResponse{StatusCode: 2}, container.InspectResponse{}, errors.New("gone"), 2, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI()
			f.inspect, f.inspectErr = tt.inspect, tt.inspErr
			rt := newTestRuntime(t, f, Config{})
			sb := startSandbox(t, f, rt, sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
			f.exit <- tt.exit
			st, err := sb.Wait(t.Context())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Wait error = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr && tt.exit.Error != nil {
				return
			}
			if st.Code == nil || *st.Code != tt.wantCode || st.OOMKilled != tt.wantOOM {
				t.Errorf("Wait = code %v OOM %v, want %d %v", st.Code, st.OOMKilled, tt.wantCode, tt.wantOOM)
			}
		})
	}
}

func TestSandboxWaitEndsWithContext(t *testing.T) {
	f := newFakeAPI()
	rt := newTestRuntime(t, f, Config{})
	sb := startSandbox(t, f, rt, sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := sb.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
}

// TestSandboxWaitAfterClose checks Wait does not hang once the sandbox is
// closed without the container reporting an exit.
func TestSandboxWaitAfterClose(t *testing.T) {
	f := newFakeAPI()
	rt := newTestRuntime(t, f, Config{})
	sb := startSandbox(t, f, rt, sandbox.Spec{ID: "s", Cols: 80, Rows: 24})
	sb.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := sb.Wait(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait after Close = %v, want the stopped wait's error at once", err)
	}
}
