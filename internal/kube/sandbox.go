package kube

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"iexbox/internal/sandbox"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"
)

// Sandbox is one running Pod attached with a TTY through the API server.
// A TTY has a single raw output stream. It is safe for one reader and one
// writer at a time; Resize and Close may be called concurrently with both.
type Sandbox struct {
	rt      *Runtime
	pod     string
	session string
	log     *slog.Logger

	in    *io.PipeWriter // keyboard input, read by the attach stream
	inR   *io.PipeReader
	out   *io.PipeReader // terminal output, written by the attach stream
	outW  *io.PipeWriter
	sizes *sizeQueue

	stop       context.CancelFunc // ends the attach stream and the watch
	streamDone chan struct{}
	streamErr  error
	exited     chan struct{} // closed once the watch knows how the program ended
	status     sandbox.ExitStatus
	statusErr  error

	release func() // frees the sandbox's uid once its Pod is deleted

	closeOnce sync.Once
	closeErr  error
}

var _ sandbox.Sandbox = (*Sandbox)(nil)

func newSandbox(r *Runtime, pod string, spec sandbox.Spec, release func(), log *slog.Logger) *Sandbox {
	inR, in := io.Pipe()
	out, outW := io.Pipe()
	return &Sandbox{
		rt: r, pod: pod, session: spec.ID, log: log, release: release,
		in: in, inR: inR, out: out, outW: outW,
		sizes:      newSizeQueue(spec.Cols, spec.Rows),
		streamDone: make(chan struct{}),
		exited:     make(chan struct{}),
	}
}

// attach starts the attach stream and the watch of the Pod, and gives the
// go signal once the stream reads input. The caller calls stop on error.
func (s *Sandbox) attach(ctx context.Context) error {
	streamCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = func() {
		stop()
		s.sizes.close()
		s.inR.CloseWithError(io.ErrClosedPipe)
		s.outW.CloseWithError(io.EOF)
		<-s.streamDone
		<-s.exited
	}
	began := time.Now()
	go func() {
		defer close(s.streamDone)
		err := s.rt.stream.stream(streamCtx, s.pod, &corev1.PodAttachOptions{
			Container: containerName, Stdin: true, Stdout: true, TTY: true,
		}, remotecommand.StreamOptions{Stdin: s.inR, Stdout: s.outW, Tty: true, TerminalSizeQueue: s.sizes})
		if err != nil && streamCtx.Err() == nil {
			s.streamErr = fmt.Errorf("attach pod: %w", err)
		}
		s.outW.CloseWithError(s.streamErr) // nil: io.EOF
		s.inR.CloseWithError(io.ErrClosedPipe)
	}()
	go s.watch(streamCtx)

	// The stream reads input only once it is up: the go signal tells both
	// the program and Start that it is.
	ctx, cancel := context.WithTimeout(ctx, goTimeout)
	defer cancel()
	unblock := context.AfterFunc(ctx, func() { s.inR.CloseWithError(ctx.Err()) })
	_, err := s.in.Write([]byte(goSignal))
	unblock()
	s.rt.observe("attach", began, err)
	if err != nil {
		select {
		case <-s.streamDone:
			if s.streamErr != nil {
				return s.streamErr
			}
		default:
		}
		return fmt.Errorf("attach pod: %w", err)
	}
	return nil
}

// watch records how the program ended, from the Pod's status.
func (s *Sandbox) watch(ctx context.Context) {
	defer close(s.exited)
	_, err := s.rt.waitPod(ctx, s.pod, func(pod *corev1.Pod) (bool, error) {
		if pod.DeletionTimestamp != nil { // by someone else, or by Close
			return false, ErrPodGone
		}
		st, ok := exitStatus(pod)
		s.status = st
		return ok, nil
	})
	s.statusErr = err
}

// exitStatus is the terminated program's exit code and whether the kernel
// OOM-killed it, once the Pod's status has them.
func exitStatus(pod *corev1.Pod) (sandbox.ExitStatus, bool) {
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; cs.Name == containerName && t != nil {
			code := int(t.ExitCode)
			return sandbox.ExitStatus{Code: &code, OOMKilled: t.Reason == "OOMKilled"}, true
		}
	}
	return sandbox.ExitStatus{}, false
}

// ID is the id of the session the Pod was created for.
func (s *Sandbox) ID() string { return s.session }

// PodName is the Pod's name.
func (s *Sandbox) PodName() string { return s.pod }

// Read reads terminal output.
func (s *Sandbox) Read(p []byte) (int, error) { return s.out.Read(p) }

// Write sends keyboard input.
func (s *Sandbox) Write(p []byte) (int, error) { return s.in.Write(p) }

// Resize queues the terminal size for the attach stream; the latest wins.
func (s *Sandbox) Resize(_ context.Context, cols, rows int) error {
	s.sizes.push(cols, rows)
	return nil
}

// Wait blocks until the Pod's status tells how the program ended,
// including whether the kernel OOM-killed it. A Pod deleted by someone else
// is an error (ErrPodGone).
func (s *Sandbox) Wait(ctx context.Context) (sandbox.ExitStatus, error) {
	select {
	case <-s.exited:
	case <-ctx.Done():
		return sandbox.ExitStatus{}, ctx.Err()
	}
	if s.statusErr != nil {
		return sandbox.ExitStatus{}, fmt.Errorf("wait pod: %w", s.statusErr)
	}
	return s.status, nil
}

// Close deletes the Pod at once (grace 0), with its own bounded context,
// ends the stream and the watch, and frees the uid. It is idempotent and
// safe for concurrent use.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
		defer cancel()
		s.closeErr = s.rt.deletePod(ctx, s.pod)
		s.stop()
		if s.closeErr == nil {
			s.rt.owners.Disown(s.session, nil)
			s.release()
		} else { // the keeper deletes it once the API server answers, then frees its uid
			s.rt.owners.Disown(s.session, s.release)
		}
		s.log.Debug("pod deleted")
	})
	return s.closeErr
}

// sizeQueue hands terminal sizes to the attach stream, latest first: a
// size nobody read yet is replaced by a newer one.
type sizeQueue struct {
	ch       chan remotecommand.TerminalSize
	done     chan struct{}
	doneOnce sync.Once
	mu       sync.Mutex // one push at a time, so the latest stays
}

func newSizeQueue(cols, rows int) *sizeQueue {
	q := &sizeQueue{ch: make(chan remotecommand.TerminalSize, 1), done: make(chan struct{})}
	q.push(cols, rows)
	return q
}

func (q *sizeQueue) push(cols, rows int) {
	size := remotecommand.TerminalSize{Width: uint16(cols), Height: uint16(rows)}
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-q.ch: // replaced
	default:
	}
	q.ch <- size
}

// Next blocks until a new size, or returns nil once the queue is closed.
func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	select {
	case s := <-q.ch:
		return &s
	case <-q.done:
		return nil
	}
}

func (q *sizeQueue) close() { q.doneOnce.Do(func() { close(q.done) }) }
