package process

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"iexbox/internal/sandbox"
)

// patience bounds every wait for the program; generous for loaded CI hosts.
const patience = 10 * time.Second

// term is a started sandbox with its output collected in the background.
type term struct {
	sb     *Sandbox
	mu     sync.Mutex
	out    bytes.Buffer
	more   chan struct{} // signalled on new output
	done   chan struct{} // closed when Read has failed
	endErr error
}

// startTerm runs argv on a pty of cols x rows. Cleanup closes the sandbox
// and waits for the output reader.
func startTerm(t *testing.T, cols, rows int, argv ...string) *term {
	t.Helper()
	sb, err := New(argv, []string{"IEXBOX_TEST=1"}).Start(t.Context(), sandbox.Spec{ID: "t", Cols: cols, Rows: rows})
	if err != nil {
		t.Fatalf("Start %q: %v", argv, err)
	}
	tm := &term{sb: sb.(*Sandbox), more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := tm.sb.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			if err != nil {
				tm.endErr = err
			}
			tm.mu.Unlock()
			select {
			case tm.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tm.sb.Close()
		<-tm.done
	})
	return tm
}

func (tm *term) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// waitFor waits until the output matches re and returns the match.
func (tm *term) waitFor(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(patience)
	for {
		if m := rx.FindStringSubmatch(tm.output()); m != nil {
			return m
		}
		select {
		case <-tm.more:
		case <-tm.done:
			if m := rx.FindStringSubmatch(tm.output()); m != nil {
				return m
			}
			t.Fatalf("output ended without %q; got %q", re, tm.output())
		case <-deadline:
			t.Fatalf("no %q within %v; got %q", re, patience, tm.output())
		}
	}
}

func (tm *term) write(t *testing.T, s string) {
	t.Helper()
	if _, err := tm.sb.Write([]byte(s)); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func (tm *term) wait(t *testing.T) sandbox.ExitStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	st, err := tm.sb.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return st
}

func TestProcessSizeInputOutputExit(t *testing.T) {
	tm := startTerm(t, 97, 31, "sh", "-c", `stty size; read x; echo "got:$x"; echo "env:$IEXBOX_TEST:$TERM"`)
	tm.waitFor(t, `(?m)^31 97\r?$`) // stty prints rows then columns
	tm.write(t, "héllo 👋\n")
	tm.waitFor(t, `got:héllo 👋`)
	tm.waitFor(t, `env:1:xterm-256color`)
	if st := tm.wait(t); st.Code == nil || *st.Code != 0 || st.OOMKilled {
		t.Errorf("Wait = %+v, want code 0", st)
	}
	<-tm.done
	if !errors.Is(tm.endErr, os.ErrClosed) {
		t.Errorf("Read after exit = %v, want os.ErrClosed (end of output)", tm.endErr)
	}
}

func TestProcessResize(t *testing.T) {
	tm := startTerm(t, 80, 24, "sh", "-c", `stty size; read x; stty size; read y`)
	tm.waitFor(t, `24 80`)
	if err := tm.sb.Resize(t.Context(), 132, 43); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	tm.write(t, "\n")
	tm.waitFor(t, `43 132`)
	tm.write(t, "\n")
	tm.wait(t)
}

func TestProcessExitCode(t *testing.T) {
	tests := []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"exit 255", 255},
		{"false", 1},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			tm := startTerm(t, 80, 24, "sh", "-c", tt.script)
			if st := tm.wait(t); st.Code == nil || *st.Code != tt.want {
				t.Errorf("Wait = %+v, want code %d", st, tt.want)
			}
		})
	}
}

func TestProcessCloseKills(t *testing.T) {
	tm := startTerm(t, 80, 24, "sh", "-c", `trap '' INT TERM HUP; echo started; sleep 1000`)
	tm.waitFor(t, "started")

	closed := make(chan error, 1)
	go func() { closed <- tm.sb.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(patience):
		t.Fatal("Close did not kill a process that ignores signals and input")
	}
	st := tm.wait(t)
	if st.Code != nil {
		t.Errorf("Wait after a kill = code %d, want unknown (killed by a signal)", *st.Code)
	}
	select {
	case <-tm.done:
	case <-time.After(patience):
		t.Fatal("Read still blocked after Close")
	}

	// Idempotent, also concurrently.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := tm.sb.Close(); err != nil {
				t.Errorf("Close again = %v", err)
			}
		})
	}
	wg.Wait()
	if _, err := tm.sb.Write([]byte("x")); err == nil {
		t.Errorf("Write after Close succeeded")
	}
}

// TestProcessCloseKillsChildren checks Close takes the whole process group,
// not only the program it started.
func TestProcessCloseKillsChildren(t *testing.T) {
	tm := startTerm(t, 80, 24, "sh", "-c", `sleep 1000 & echo "child:$!"; wait`)
	pid, err := strconv.Atoi(tm.waitFor(t, `child:(\d+)`)[1])
	if err != nil {
		t.Fatal(err)
	}
	tm.sb.Close()
	deadline := time.Now().Add(patience)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d survived Close", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie waiting to be reaped does not).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

func TestProcessWaitEndsWithContext(t *testing.T) {
	tm := startTerm(t, 80, 24, "sleep", "1000")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := tm.sb.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait = %v, want DeadlineExceeded", err)
	}
}

func TestProcessStartErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		argv []string
	}{
		{"no command", t.Context(), nil},
		{"missing program", t.Context(), []string{"/nonexistent/iexbox-test-program"}},
		{"cancelled context", cancelled, []string{"sh", "-c", "exit 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, err := New(tt.argv, nil).Start(tt.ctx, sandbox.Spec{ID: "t", Cols: 80, Rows: 24})
			if err == nil {
				sb.Close()
				t.Fatal("Start succeeded")
			}
		})
	}
}

func TestProcessName(t *testing.T) {
	if got := New([]string{"cat"}, nil).Name(); got != "process" {
		t.Errorf("Name = %q, want process", got)
	}
}

// TestProcessResizeDuringClose checks Resize is safe beside Close, as a
// session's resize goroutine may still run while the sandbox is destroyed.
func TestProcessResizeDuringClose(t *testing.T) {
	for range 20 {
		tm := startTerm(t, 80, 24, "cat")
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tm.sb.Resize(t.Context(), 80+i%50, 24)
			}
		})
		time.Sleep(time.Millisecond)
		tm.sb.Close()
		if err := tm.sb.Resize(t.Context(), 100, 30); err == nil {
			t.Errorf("Resize after Close succeeded")
		}
		close(stop)
		wg.Wait()
		<-tm.done
	}
}

// The child gets a minimal environment, never the server's: its token
// secret, say.
func TestProcessEnvironmentMinimal(t *testing.T) {
	t.Setenv("IEXBOX_TOKEN_SECRET", "not-for-the-child-0123456789")
	tm := startTerm(t, 80, 24, "sh", "-c", `echo "keys:$(env | cut -d= -f1 | sort | tr '\n' ' ')"`)
	tm.waitFor(t, `keys:HOME IEXBOX_TEST LANG PATH PWD TERM \r?\n`)
	tm.wait(t)
}
