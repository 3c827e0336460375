// Package pool keeps sandboxes booted to their first prompt ahead of
// demand and hands each to one session only: it makes a fresh sandbox
// fast, it never reuses one. It owns the warm set and its sizing (fixed,
// or by the size of recent waves), the line of clients waiting for a
// sandbox (first come, first served within an address, round-robin
// across addresses), and StartWatch, which remembers failing starts for
// readiness.
//
// # Goroutines
//
// Run is the pool's own loop: it starts one goroutine per boot (at most
// Config.Parallel at once) and one watch per ready member, and joins them
// all before it returns.
package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"iexbox/internal/sandbox"

	"github.com/google/uuid"
)

// Config sizes a Pool.
type Config struct {
	// Size is how many warm sandboxes to keep when Auto is nil; 0 keeps
	// none (sandboxes then boot on demand only).
	Size int
	// Auto, when set, sizes the pool by demand within its bounds.
	Auto *AutoSize
	// MaxAge recycles a warm sandbox that waited longer than this.
	MaxAge time.Duration
	// Prompt is the output that tells a sandbox's program is ready for
	// input (iex's first prompt). Empty means ready once started.
	Prompt []byte
	// Cols and Rows are the size warm sandboxes start with; a hand-over
	// resizes to the client's.
	Cols, Rows int
	// Parallel bounds how many sandboxes the pool starts at once, for
	// the warm members and the waiting clients together: boots that share
	// the CPU all finish late, so more at once serves nobody sooner.
	Parallel int
	// QueueMax bounds the clients waiting in line, all addresses
	// together; 0: no bound. (What one address may hold is admission's.)
	QueueMax int
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
	rt    sandbox.Runtime
	cfg   Config
	slots Slots
	log   *slog.Logger

	wake     chan struct{}  // a member was taken or dropped: refill
	watchers sync.WaitGroup // one per ready member
	now      func() time.Time

	mu       sync.Mutex
	ready    []*warmSandbox // oldest first
	starting int
	closed   bool
	line     line          // clients waiting for a sandbox
	bootAvg  time.Duration // a moving average of boots to the prompt
	size     sizing        // the target and why
	held     int           // warm sandboxes held for classes, beyond the target
	// heldPeak is the largest hold of the last heldGrace, which resizes
	// keep: a hold falls as learners are about to take their seats, and
	// the seats they are about to take must not be dropped first.
	heldPeak   int
	heldPeakAt time.Time
}

// heldGrace is how long seats a hold no longer asks for stay warm.
const heldGrace = 10 * time.Second

// Slots is the capacity a Pool's members count against.
type Slots interface {
	// Reserve holds a slot for a warm sandbox, reporting false when none is
	// free; release gives it back.
	Reserve() (release func(), ok bool)
}

// unbounded is Slots without a cap.
type unbounded struct{}

func (unbounded) Reserve() (func(), bool) { return func() {}, true }

// warmSandbox is a started sandbox waiting for a session, with the output
// it printed while booting.
type warmSandbox struct {
	sb      sandbox.Sandbox
	output  []byte
	born    time.Time
	release func()
	// stopWatch ends the goroutine that drops the member if it dies.
	stopWatch context.CancelFunc
}

// New returns a Pool over rt whose members count against slots (nil: no
// bound). Run must be called to fill it.
func New(rt sandbox.Runtime, cfg Config, slots Slots, log *slog.Logger) *Pool {
	if cfg.Parallel <= 0 {
		cfg.Parallel = 1
	}
	if slots == nil {
		slots = unbounded{}
	}
	p := &Pool{rt: rt, cfg: cfg, slots: slots, log: log.With("component", "pool"), wake: make(chan struct{}, 1), now: time.Now}
	p.size = newSizing(cfg)
	return p
}

// PoolStatus is a snapshot of the pool.
type Status struct {
	Size     int    `json:"size"`  // the target: warm sandboxes to keep now
	Ready    int    `json:"ready"` // booted, waiting for a session
	Starting int    `json:"starting"`
	Target   int    `json:"target"` // the same as size
	Max      int    `json:"max"`    // the most the target may grow to
	Reason   string `json:"reason"` // why the target is what it is
	Queued   int    `json:"queued"` // clients waiting in line
	Held     int    `json:"held"`   // of the target, warm for classes' seats
}

// Status reports the pool's target, its ready members, those booting and
// the clients waiting.
func (p *Pool) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{Size: p.size.target, Ready: len(p.ready), Starting: p.starting,
		Target: p.size.target, Max: p.size.max, Reason: p.size.reason, Queued: p.line.n, Held: p.held}
	if p.held > 0 {
		st.Size += p.held
		st.Target += p.held
		st.Reason = fmt.Sprintf("%s; plus %d seats of classes", st.Reason, p.held)
	}
	return st
}

// Hold keeps n warm sandboxes for classes beyond the pool's own target
// (the session cap still bounds them), until another Hold changes n.
func (p *Pool) Hold(n int) {
	p.mu.Lock()
	if n < p.held {
		p.heldPeak, p.heldPeakAt = max(p.heldPeak, p.held), p.now()
	}
	p.held = max(n, 0)
	p.mu.Unlock()
	p.poke()
}

// Poke tells the pool that capacity came free (a session ended), so it
// boots for waiting clients.
func (p *Pool) Poke() { p.poke() }

// Join puts a client of addr in line for a sandbox. The caller must Leave
// the place once done with it. A ready sandbox is granted at once when
// nobody waits before.
func (p *Pool) Join(addr string) (*Place, error) { return p.join(addr, true) }

// JoinSeat is Join for a class's learner, whose sandbox the class's held
// seats provide: it does not count toward the pool's own demand.
func (p *Pool) JoinSeat(addr string) (*Place, error) { return p.join(addr, false) }

func (p *Pool) join(addr string, demand bool) (*Place, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if demand {
		p.size.arrived(p.now())
	}
	if p.closed {
		return nil, ErrClosed
	}
	if p.cfg.QueueMax > 0 && p.line.n >= p.cfg.QueueMax {
		return nil, ErrQueueFull
	}
	pl := &Place{p: p, addr: addr, joined: p.now(), changed: make(chan struct{}, 1), seat: !demand}
	p.line.add(pl)
	p.dispatchLocked()
	pl.queued = pl.granted == nil
	p.line.reposition()
	p.poke()
	return pl, nil
}

// dispatchLocked grants ready members to waiting places, in line order.
// The members held for classes' seats go to their learners only: a
// stranger is granted one only while more are ready than are held, so a
// wave of strangers before a class cannot take the class's warm seats
// (it waits for the boots its places add instead).
func (p *Pool) dispatchLocked() {
	for p.line.n > 0 {
		for len(p.ready) > 0 && p.cfg.MaxAge > 0 && p.now().Sub(p.ready[0].born) > p.cfg.MaxAge {
			go closeWarm([]*warmSandbox{p.ready[0]})
			p.ready = p.ready[1:]
		}
		if len(p.ready) == 0 {
			return
		}
		var pl *Place
		if len(p.ready) > p.held {
			pl = p.line.pop()
		} else if pl = p.line.popSeat(); pl == nil {
			return
		}
		pl.granted, p.ready = p.ready[0], p.ready[1:]
		pl.notify()
	}
}

// Get hands over a warm sandbox resized to spec, or boots a cold one, and
// tells which. Both return once the program's prompt is there, so a
// session is ready when its prompt is; the boot output is delivered first
// by Read, byte for byte. A warm sandbox keeps the id it was booted with.
func (p *Pool) Get(ctx context.Context, spec sandbox.Spec) (_ sandbox.Sandbox, warm bool, _ error) {
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
		return w.handOver(), true, nil
	}
	w, err := p.boot(ctx, spec)
	if err != nil {
		return nil, false, err
	}
	return w.handOver(), false, nil
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
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.cfg.Parallel)
	recycle := time.NewTicker(time.Second)
	defer recycle.Stop()
	for {
		// Start members until the pool holds its target plus one for each
		// waiting client, or no capacity is free.
		for ctx.Err() == nil {
			p.mu.Lock()
			need := len(p.ready)+p.starting < p.size.target+p.held+p.line.n
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
			p.resize()
		}
	}
}

// fill boots one member and adds it to the pool.
func (p *Pool) fill(ctx context.Context, release func()) {
	// The id is the session id of whoever takes the sandbox: it labels the
	// container before anyone knows which session that will be.
	began := p.now()
	w, err := p.boot(ctx, sandbox.Spec{ID: uuid.NewString(), Cols: p.cfg.Cols, Rows: p.cfg.Rows})
	p.mu.Lock()
	p.starting--
	if err == nil && !p.closed && ctx.Err() == nil {
		if took := p.now().Sub(began); p.bootAvg == 0 {
			p.bootAvg = took
		} else {
			p.bootAvg = (3*p.bootAvg + took) / 4
		}
		w.release = release
		watchCtx, stop := context.WithCancel(ctx)
		w.stopWatch = stop
		p.ready = append(p.ready, w)
		p.watchers.Go(func() { p.watch(watchCtx, w) })
		p.dispatchLocked()
		p.line.reposition()
		p.mu.Unlock()
		return
	}
	if err != nil && ctx.Err() == nil && p.line.n > 0 {
		// The first in line hears of it rather than waiting for a boot
		// that keeps failing.
		pl := p.line.pop()
		pl.failed = err
		pl.notify()
		p.line.reposition()
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
func (p *Pool) boot(ctx context.Context, spec sandbox.Spec) (*warmSandbox, error) {
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

// resize moves the target with demand and destroys the members beyond it
// that no waiting client needs, oldest first.
func (p *Pool) resize() {
	p.mu.Lock()
	p.size.update(p.now())
	var extra []*warmSandbox
	keep := p.held
	if p.now().Sub(p.heldPeakAt) < heldGrace {
		keep = max(keep, p.heldPeak)
	} else {
		p.heldPeak = 0
	}
	if over := len(p.ready) - p.size.target - keep; over > 0 {
		extra = slices.Clone(p.ready[:over])
		p.ready = p.ready[over:]
	}
	p.mu.Unlock()
	if len(extra) > 0 {
		p.log.Debug("pool shrinks", "dropped", len(extra))
		closeWarm(extra)
	}
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

// handOver is the member as its session gets it: its Read returns the
// boot output first.
func (w *warmSandbox) handOver() sandbox.Sandbox {
	return &handedSandbox{Sandbox: w.sb, pending: w.output}
}

// handedSandbox is a sandbox given to a session: its Read returns the
// boot output first.
type handedSandbox struct {
	sandbox.Sandbox
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
