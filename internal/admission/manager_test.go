package admission

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"iexbox/internal/session"
)

func TestManagerCap(t *testing.T) {
	m := NewManager(2)
	if m.Max() != 2 {
		t.Fatalf("Max = %d, want 2", m.Max())
	}
	_, done1, err := m.Admit()
	if err != nil {
		t.Fatal(err)
	}
	ctx2, done2, err := m.Admit()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Admit(); !errors.Is(err, ErrCapacity) {
		t.Fatalf("third Admit = %v, want ErrCapacity", err)
	}
	if m.Active() != 2 {
		t.Errorf("Active = %d, want 2", m.Active())
	}

	done2()
	if ctx2.Err() == nil {
		t.Errorf("done did not cancel the session's context")
	}
	if m.Active() != 1 {
		t.Errorf("Active after done = %d, want 1", m.Active())
	}
	done2() // idempotent: must not free a second slot
	if m.Active() != 1 {
		t.Errorf("Active after a second done = %d, want 1", m.Active())
	}
	_, done3, err := m.Admit()
	if err != nil {
		t.Fatalf("Admit after done = %v, want a free slot", err)
	}
	if _, _, err := m.Admit(); !errors.Is(err, ErrCapacity) {
		t.Fatalf("Admit over the cap = %v, want ErrCapacity", err)
	}
	done1()
	done3()
	if m.Active() != 0 {
		t.Errorf("Active = %d, want 0", m.Active())
	}
}

func TestManagerZeroCapAdmitsNobody(t *testing.T) {
	if _, _, err := NewManager(0).Admit(); !errors.Is(err, ErrCapacity) {
		t.Errorf("Admit = %v, want ErrCapacity", err)
	}
}

func TestManagerConcurrentAdmit(t *testing.T) {
	const max, callers = 10, 64
	m := NewManager(max)
	var (
		wg       sync.WaitGroup
		admitted atomic.Int32
		refused  atomic.Int32
		mu       sync.Mutex
		dones    []func()
	)
	for range callers {
		wg.Go(func() {
			_, done, err := m.Admit()
			switch {
			case err == nil:
				admitted.Add(1)
				mu.Lock()
				dones = append(dones, done)
				mu.Unlock()
			case errors.Is(err, ErrCapacity):
				refused.Add(1)
			default:
				t.Errorf("Admit = %v", err)
			}
		})
	}
	wg.Wait()
	if admitted.Load() != max || refused.Load() != callers-max {
		t.Errorf("admitted %d, refused %d; want %d and %d", admitted.Load(), refused.Load(), max, callers-max)
	}
	for _, done := range dones {
		wg.Go(done)
	}
	wg.Wait()
	if m.Active() != 0 {
		t.Errorf("Active = %d after every done, want 0", m.Active())
	}
}

func TestManagerShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewManager(3)
		ctx1, done1, _ := m.Admit()
		ctx2, done2, _ := m.Admit()

		shut := make(chan error, 1)
		go func() { shut <- m.Shutdown(t.Context()) }()
		synctest.Wait()

		for i, ctx := range []context.Context{ctx1, ctx2} {
			if !errors.Is(context.Cause(ctx), session.ErrShuttingDown) {
				t.Errorf("session %d: cause %v, want session.ErrShuttingDown", i, context.Cause(ctx))
			}
		}
		if _, _, err := m.Admit(); !errors.Is(err, session.ErrShuttingDown) {
			t.Errorf("Admit during shutdown = %v, want session.ErrShuttingDown", err)
		}
		done1()
		synctest.Wait()
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned %v with a session still live", err)
		default:
		}
		done2()
		if err := <-shut; err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		if _, _, err := m.Admit(); !errors.Is(err, session.ErrShuttingDown) {
			t.Errorf("Admit after shutdown = %v, want session.ErrShuttingDown", err)
		}
		if err := m.Shutdown(t.Context()); err != nil {
			t.Errorf("second Shutdown = %v, want nil", err)
		}
	})
}

func TestManagerShutdownGivesUpAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewManager(1)
		_, done, _ := m.Admit()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		start := time.Now()
		if err := m.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
		}
		if took := time.Since(start); took != 30*time.Second {
			t.Errorf("Shutdown gave up after %v, want 30s", took)
		}
		done() // lets Shutdown's waiter finish
		synctest.Wait()
	})
}

func TestManagerShutdownWithoutSessions(t *testing.T) {
	m := NewManager(1)
	if err := m.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}
