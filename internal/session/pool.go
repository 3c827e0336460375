package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// PoolConfig sizes a Pool.
type PoolConfig struct {
	// Size is how many warm sandboxes to keep; 0 disables the pool.
	Size int
	// MaxAge recycles a warm sandbox that waited longer than this.
	MaxAge time.Duration
	// Prompt is the output that tells a sandbox's program is ready for
	// input (iex's first prompt). Empty means ready once started.
	Prompt []byte
	// Cols and Rows are the size warm sandboxes start with; a hand-over
	// resizes to the client's.
	Cols, Rows int
	// Parallel bounds how many sandboxes the pool starts at once, so a
	// refill never starves the host of CPU.
	Parallel int
}

// Pool timings.
const (
	warmTimeout   = 60 * time.Second // the most a boot to the first prompt may take
	refillBackoff = 2 * time.Second  // the pause after a failed start
	maxWarmOutput = 64 << 10         // output kept before the prompt, at most
)

// Pool keeps sandboxes created, started and booted to their first prompt
// ahead of demand, so a session gets one at once. A warm sandbox serves one
// session only and is destroyed afterwards like any other: the pool hands
// out fresh sandboxes faster, it never reuses them. Get takes a warm
// sandbox, or starts a cold one when none is ready. It is safe for
// concurrent use.
type Pool struct {
	rt    Runtime
	cfg   PoolConfig
	slots Slots
	log   *slog.Logger

	wake     chan struct{}  // a member was taken or dropped: refill
	watchers sync.WaitGroup // one per ready member

	mu       sync.Mutex
	ready    []*warmSandbox // oldest first
	starting int
	closed   bool
}

// Slots is the capacity a Pool's members count against.
type Slots interface {
	// Reserve holds a slot for a warm sandbox, reporting false when none is
	// free; release gives it back.
	Reserve() (release func(), ok bool)
}

// warmSandbox is a started sandbox waiting for a session, with the output
// it printed while booting.
type warmSandbox struct {
	sb      Sandbox
	output  []byte
	born    time.Time
	release func()
	// stopWatch ends the goroutine that drops the member if it dies.
	stopWatch context.CancelFunc
}

// NewPool returns a Pool over rt. Run must be called to fill it.
func NewPool(rt Runtime, cfg PoolConfig, slots Slots, log *slog.Logger) *Pool {
	if cfg.Parallel <= 0 {
		cfg.Parallel = 1
	}
	return &Pool{rt: rt, cfg: cfg, slots: slots, log: log.With("component", "pool"), wake: make(chan struct{}, 1)}
}

// PoolStatus is a snapshot of the pool.
type PoolStatus struct {
	Size     int `json:"size"`
	Ready    int `json:"ready"`
	Starting int `json:"starting"`
}

// Status reports the pool's size, its ready members and those booting.
func (p *Pool) Status() PoolStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStatus{Size: p.cfg.Size, Ready: len(p.ready), Starting: p.starting}
}

// Get hands over a warm sandbox resized to spec, or boots a cold one, and
// tells which. Both return once the program's prompt is there, so a
// session is ready when its prompt is; the boot output is delivered first
// by Read, byte for byte. A warm sandbox keeps the id it was booted with.
func (p *Pool) Get(ctx context.Context, spec Spec) (_ Sandbox, warm bool, _ error) {
	for {
		w := p.take()
		if w == nil {
			break
		}
		if err := w.sb.Resize(ctx, spec.Cols, spec.Rows); err != nil {
			// A member that cannot be resized has died while waiting.
			p.log.Warn("warm sandbox unusable", "err", err)
			w.sb.Close()
			continue
		}
		return &handedSandbox{Sandbox: w.sb, pending: w.output}, true, nil
	}
	w, err := p.boot(ctx, spec)
	if err != nil {
		return nil, false, err
	}
	return &handedSandbox{Sandbox: w.sb, pending: w.output}, false, nil
}

// take removes the oldest ready member that is still young enough.
func (p *Pool) take() *warmSandbox {
	p.mu.Lock()
	var stale []*warmSandbox
	var w *warmSandbox
	for len(p.ready) > 0 && w == nil {
		w, p.ready = p.ready[0], p.ready[1:]
		if p.cfg.MaxAge > 0 && time.Since(w.born) > p.cfg.MaxAge {
			stale, w = append(stale, w), nil
		}
	}
	p.mu.Unlock()
	if w != nil {
		w.stopWatch()
		w.release() // the session's own slot now covers it
	}
	go closeWarm(stale)
	p.poke()
	return w
}

func (p *Pool) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run fills the pool and keeps it full until ctx ends, then destroys every
// member and returns once none is left.
func (p *Pool) Run(ctx context.Context) {
	if p.cfg.Size <= 0 {
		<-ctx.Done()
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.cfg.Parallel)
	recycle := time.NewTicker(max(p.cfg.MaxAge/4, time.Second))
	defer recycle.Stop()
	for {
		// Start members until the pool is full or no capacity is free.
		for ctx.Err() == nil {
			p.mu.Lock()
			need := len(p.ready)+p.starting < p.cfg.Size
			if need {
				p.starting++
			}
			p.mu.Unlock()
			if !need {
				break
			}
			release, ok := p.slots.Reserve()
			if !ok {
				p.mu.Lock()
				p.starting--
				p.mu.Unlock()
				break
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				release()
				p.mu.Lock()
				p.starting--
				p.mu.Unlock()
				continue
			}
			wg.Go(func() {
				defer func() { <-sem }()
				p.fill(ctx, release)
			})
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			p.drain()
			p.watchers.Wait()
			return
		case <-p.wake:
		case <-recycle.C:
			p.dropStale()
		}
	}
}

// fill boots one member and adds it to the pool.
func (p *Pool) fill(ctx context.Context, release func()) {
	// The id is the session id of whoever takes the sandbox: it labels the
	// container before anyone knows which session that will be.
	w, err := p.boot(ctx, Spec{ID: uuid.NewString(), Cols: p.cfg.Cols, Rows: p.cfg.Rows})
	p.mu.Lock()
	p.starting--
	if err == nil && !p.closed && ctx.Err() == nil {
		w.release = release
		watchCtx, stop := context.WithCancel(ctx)
		w.stopWatch = stop
		p.ready = append(p.ready, w)
		p.watchers.Go(func() { p.watch(watchCtx, w) })
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	release()
	if w != nil {
		w.sb.Close()
	}
	if err != nil && ctx.Err() == nil {
		p.log.Warn("warm sandbox failed", "err", err)
		select { // do not spin against a failing engine
		case <-time.After(refillBackoff):
		case <-ctx.Done():
		}
	}
	p.poke()
}

// watch drops a member that dies while it waits (its container killed, the
// engine restarted), so a session never takes a dead one and the pool
// refills. It returns when ctx ends: the member was taken or destroyed.
func (p *Pool) watch(ctx context.Context, w *warmSandbox) {
	if _, err := w.sb.Wait(ctx); ctx.Err() != nil {
		return
	} else if err != nil {
		p.log.Debug("watch warm sandbox", "err", err)
	}
	p.mu.Lock()
	i := slices.Index(p.ready, w)
	if i >= 0 {
		p.ready = slices.Delete(p.ready, i, i+1)
	}
	p.mu.Unlock()
	if i >= 0 {
		p.log.Warn("warm sandbox died while waiting")
		closeWarm([]*warmSandbox{w})
		p.poke()
	}
}

// boot starts a sandbox and reads its output up to the prompt.
func (p *Pool) boot(ctx context.Context, spec Spec) (*warmSandbox, error) {
	ctx, cancel := context.WithTimeout(ctx, warmTimeout)
	defer cancel()
	sb, err := p.rt.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	w := &warmSandbox{sb: sb, born: time.Now()}
	if len(p.cfg.Prompt) == 0 {
		return w, nil
	}
	stop := context.AfterFunc(ctx, func() { sb.Close() }) // unblocks Read
	defer stop()
	buf := make([]byte, 4<<10)
	for !bytes.Contains(w.output, p.cfg.Prompt) {
		n, err := sb.Read(buf)
		w.output = append(w.output, buf[:n]...)
		if err != nil || len(w.output) > maxWarmOutput {
			sb.Close()
			return nil, fmt.Errorf("boot to prompt: %w", errors.Join(err, ctx.Err()))
		}
	}
	return w, nil
}

// dropStale destroys members older than MaxAge; Run refills.
func (p *Pool) dropStale() {
	if p.cfg.MaxAge <= 0 {
		return
	}
	p.mu.Lock()
	var keep, stale []*warmSandbox
	for _, w := range p.ready {
		if time.Since(w.born) > p.cfg.MaxAge {
			stale = append(stale, w)
		} else {
			keep = append(keep, w)
		}
	}
	p.ready = keep
	p.mu.Unlock()
	if len(stale) > 0 {
		closeWarm(stale)
		p.poke()
	}
}

// drain destroys every member, concurrently.
func (p *Pool) drain() {
	p.mu.Lock()
	p.closed = true
	all := p.ready
	p.ready = nil
	p.mu.Unlock()
	closeWarm(all)
}

func closeWarm(ws []*warmSandbox) {
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() {
			w.stopWatch()
			w.sb.Close()
			w.release()
		})
	}
	wg.Wait()
}

// handedSandbox is a sandbox given to a session by Get: its Read returns
// the boot output first.
type handedSandbox struct {
	Sandbox
	pending []byte
}

func (h *handedSandbox) Read(b []byte) (int, error) {
	if len(h.pending) > 0 {
		n := copy(b, h.pending)
		h.pending = h.pending[n:]
		return n, nil
	}
	return h.Sandbox.Read(b)
}
