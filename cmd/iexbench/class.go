package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"iexbox/internal/client"
)

// classResult is a class's seats and its learners arriving at once.
type classResult struct {
	Seats int `json:"seats"`
	// SeatsWarmS is from opening the class to its seats all booted;
	// SeatsMiB is the host memory they took (MemAvailable's drop).
	SeatsWarmS float64  `json:"seats_warm_s"`
	SeatsMiB   float64  `json:"seats_mib"`
	Learners   int      `json:"learners"`
	Refused    int      `json:"refused"`
	Failed     int      `json:"failed"` // no prompt and right answer, whatever the reason
	Errors     []string `json:"first_errors,omitempty"`
	Prompt     dist     `json:"prompt"` // hello to prompt
	// Answer is hello to the answer of the learner's first 1+1: a warm
	// seat's first evaluation included.
	Answer dist `json:"answer"`
	// Second is the answer to a second expression, sent by every learner
	// at once after all had their first: the same evaluations without the
	// first one's costs.
	Second dist `json:"second"`
	Waited int  `json:"waited"` // told queued before ready
}

// measureClass opens a class of -class-seats seats from this machine,
// waits for its seats to be warm, then has as many learners join at once
// from this one address, each to its prompt and 1+1, and ends the class.
func (b *bench) measureClass(ctx context.Context) error {
	if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
		return err
	}
	n := b.cfg.classSeats
	r := &classResult{Seats: n, Learners: n}
	b.report.Class = r
	classes := client.Classes{Base: b.warm.ws, HTTP: httpClient}
	before := takeMem(ctx, b.warm.pid)
	opened := time.Now()
	created, err := classes.Open(ctx, "", client.ClassRequest{Title: "iexbench", Seats: n})
	if err != nil {
		return fmt.Errorf("open a class: %w", err)
	}
	defer classes.Delete(context.WithoutCancel(ctx), created.Code, created.TeacherToken)
	for {
		st, err := b.warm.getStatus(ctx)
		if err == nil && st.Pool != nil && st.Pool.Ready >= st.Pool.Target && st.Pool.Starting == 0 && st.Pool.Target >= n {
			break
		}
		if time.Since(opened) > 15*time.Minute {
			return fmt.Errorf("the class's %d seats not warm after 15 minutes (last status %+v)", n, st.Pool)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	r.SeatsWarmS = round3(time.Since(opened).Seconds())
	r.SeatsMiB = round1(mib(before.available - takeMem(ctx, b.warm.pid).available))
	b.logf("class: %d seats warm after %.1f s, holding %.0f MiB", n, r.SeatsWarmS, r.SeatsMiB)

	learners := b.together(ctx, n, func(i int) client.Hello {
		return client.Hello{Cols: b.cfg.cols, Rows: b.cfg.rows, Class: created.Code, Name: fmt.Sprintf("learner %d", i+1)}
	})
	var prompts, answers []time.Duration
	for _, c := range learners {
		if failed(c.err, &r.Refused, &r.Failed, &r.Errors) {
			continue
		}
		prompts = append(prompts, c.prompt)
		answers = append(answers, c.answer)
		if len(c.s.queued) > 0 {
			r.Waited++
		}
	}
	r.Prompt, r.Answer = summarize(prompts), summarize(answers)
	r.Second = b.evalTogether(ctx, learners, 2, "2+2", "4", &r.Failed, &r.Errors)
	b.logf("class: %d learners at once: %d refused, %d failed, prompt %+v, first 1+1 answered %+v, then 2+2 together %+v",
		n, r.Refused, r.Failed, r.Prompt, r.Answer, r.Second)
	if _, err := classes.End(ctx, created.Code, created.TeacherToken); err != nil {
		return fmt.Errorf("end the class: %w", err)
	}
	for _, c := range learners {
		if c.s != nil {
			c.s.close()
		}
	}
	if r.Failed > 0 {
		return errors.New("some learners got no prompt")
	}
	return b.warm.waitSettled(ctx, 0, settleTimeout)
}

// classRows are the class's figures beside their targets: none refused,
// p95 at most a second.
func classRows(r *report, add func(figure, iexbox, docker, ratio, target, met string)) {
	c := r.Class
	if c == nil {
		return
	}
	name := fmt.Sprintf("class of %d seats, %d learners at once from one address", c.Seats, c.Learners)
	add(name+", seats warm after s / holding MiB", fmt.Sprintf("%.1f / %.0f", c.SeatsWarmS, c.SeatsMiB), "", "", "report", "-")
	add(name+", refused", strconv.Itoa(c.Refused), "", "", "0", verdict(true, c.Refused == 0))
	add(name+", no prompt or a wrong answer (any cause)", strconv.Itoa(c.Failed), "", "", "0", verdict(true, c.Failed == 0))
	add(name+", prompt p50/p95/max ms", f3(c.Prompt.P50, c.Prompt.P95, c.Prompt.Max), "", "", "p95<=1000", verdict(true, c.Prompt.P95 <= 1000))
	add(name+", first 1+1 answered p50/p95/max ms", f3(c.Answer.P50, c.Answer.P95, c.Answer.Max), "", "", "report", "-")
	add(name+", then 2+2 at once, answered p50/p95/max ms", f3(c.Second.P50, c.Second.P95, c.Second.Max), "", "", "report", "-")
	add(name+", waited in line", strconv.Itoa(c.Waited), "", "", "report", "-")
}

// evalTogether has every client that got its answer send its n-th
// expression at once, and times each answer; a failure counts in fails.
func (b *bench) evalTogether(ctx context.Context, clients []*waveClient, n int, expr, want string, fails *int, errs *[]string) dist {
	var mu sync.Mutex
	var took []time.Duration
	var wg sync.WaitGroup
	for _, c := range clients {
		if c.err != nil {
			continue
		}
		wg.Go(func() {
			start := time.Now()
			err := c.s.evalNth(ctx, n, expr, want)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				var refused int
				failed(err, &refused, fails, errs)
				return
			}
			took = append(took, time.Since(start))
		})
	}
	wg.Wait()
	return summarize(took)
}
