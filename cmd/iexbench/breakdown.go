package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"

	"iexbox/internal/docker"
	"iexbox/internal/sandbox"
)

// breakdown is where the time of a cold start goes, measured on the
// server's own Docker adapter (internal/docker) with every Engine API call
// timed (through its Observer), plus the BEAM's own uptime at its first prompt; and the keystroke
// echo through the bare attach stream, without the WebSocket hop.
type breakdown struct {
	Samples      int  `json:"samples"`
	Create       dist `json:"create"`
	Attach       dist `json:"attach"`
	Start        dist `json:"start"`
	Rest         dist `json:"other_adapter_work"` // mostly the first resize
	RuntimeStart dist `json:"adapter_start_total"`
	ExecToVM     dist `json:"start_return_to_beam_start"`
	BEAMToPrompt dist `json:"beam_start_to_prompt"`
	Prompt       dist `json:"adapter_start_to_prompt"`
	Remove       dist `json:"remove"`
	AttachEcho   dist `json:"attach_stream_echo"`
	AttachEval   dist `json:"attach_stream_eval"`
}

// callTimes adds up the duration of the adapter's Docker Engine requests
// by operation: it is the adapter's Observer.
type callTimes struct {
	mu    sync.Mutex
	calls map[string]time.Duration
}

// DockerRequest records one request.
func (t *callTimes) DockerRequest(op string, took time.Duration, _ error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls[op] += took
}

// take returns the durations recorded since the last take.
func (t *callTimes) take() map[string]time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls
	t.calls = map[string]time.Duration{}
	return c
}

var uptimeRE = regexp.MustCompile(`\b(\d+)\b`)

// ansiEscape matches the escape sequences a terminal interprets.
var ansiEscape = regexp.MustCompile(`\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[ -/]*[0-~])`)

// measureBreakdown starts bootK sandboxes one after the other through the
// server's Docker adapter with the baseline's limits.
func (b *bench) measureBreakdown(ctx context.Context) (*breakdown, error) {
	cli, err := docker.NewClient()
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	api := &callTimes{calls: map[string]time.Duration{}}
	rt := docker.New(cli, docker.Config{
		Policy: b.cfg.policy, Instance: b.cfg.label + "-breakdown",
		Network: "none", DNS: []string{"127.0.0.1"},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), api)
	defer rt.Sweep(context.WithoutCancel(ctx))

	var create, attach, start, rest, total, toVM, vmToPrompt, prompt, remove, echo, eval []time.Duration
	for i := range b.cfg.bootK {
		if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
			return nil, err
		}
		t0 := time.Now()
		sb, err := rt.Start(ctx, sandbox.Spec{ID: fmt.Sprintf("%s-bd-%d", b.cfg.label, i), Cols: b.cfg.cols, Rows: b.cfg.rows})
		if err != nil {
			return nil, err
		}
		started := time.Now()
		bs := newSandboxTerm(sb)
		at, err := bs.waitFor(ctx, sandbox.Prompt, promptTimeout)
		if err == nil {
			calls := api.take()
			create, attach, start = append(create, calls["create"]), append(attach, calls["attach"]), append(start, calls["start"])
			// What the adapter did besides these requests: the first resize.
			rest = append(rest, started.Sub(t0)-calls["create"]-calls["attach"]-calls["start"])
			total, prompt = append(total, started.Sub(t0)), append(prompt, at.Sub(started))
			var vmStart time.Time
			if vmStart, err = bs.beamStart(ctx); err == nil {
				toVM, vmToPrompt = append(toVM, vmStart.Sub(started)), append(vmToPrompt, at.Sub(vmStart))
			}
		}
		if err == nil && i == 0 { // one session's keystrokes and evals
			var s []time.Duration
			if s, err = typeKeys(ctx, bs, b.cfg.keys, b.cfg.keyGap); err == nil {
				echo = s
				if s, err = (&evaluator{t: bs, prompt: 2}).run(ctx, b.cfg.evals, b.cfg.keyGap); err == nil {
					eval = s
				}
			}
		}
		api.take()
		sb.Close()
		remove = append(remove, api.take()["remove"])
		if err != nil {
			return nil, err
		}
	}
	bd := &breakdown{Samples: len(total),
		Create: summarize(create), Attach: summarize(attach), Start: summarize(start), Rest: summarize(rest),
		RuntimeStart: summarize(total), ExecToVM: summarize(toVM), BEAMToPrompt: summarize(vmToPrompt),
		Prompt: summarize(prompt), Remove: summarize(remove), AttachEcho: summarize(echo), AttachEval: summarize(eval)}
	b.logf("breakdown: create %.0f attach %.0f start %.0f other %.0f ms; start->BEAM %.0f ms, BEAM->prompt %.0f ms; remove %.0f ms; attach echo p50 %.3f ms",
		bd.Create.P50, bd.Attach.P50, bd.Start.P50, bd.Rest.P50, bd.ExecToVM.P50, bd.BEAMToPrompt.P50, bd.Remove.P50, bd.AttachEcho.P50)
	return bd, nil
}

// sandboxTerm reads a sandbox.Sandbox into a terminal.
type sandboxTerm struct {
	*terminal
	sb sandbox.Sandbox
}

func newSandboxTerm(sb sandbox.Sandbox) *sandboxTerm {
	t := &sandboxTerm{terminal: newTerminal(), sb: sb}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := sb.Read(buf)
			if n > 0 {
				t.feed(buf[:n], time.Now())
			}
			if err != nil {
				t.end(err)
				return
			}
		}
	}()
	return t
}

func (t *sandboxTerm) send(s string) error {
	_, err := t.sb.Write([]byte(s))
	return err
}

// beamStart asks the BEAM at iex(1)> how long it has run and returns when
// it started, leaving the terminal after iex(2)>. The BEAM read its clock
// about half the eval's round trip after the question was sent.
func (t *sandboxTerm) beamStart(ctx context.Context) (time.Time, error) {
	t0 := time.Now()
	if err := t.send(":erlang.statistics(:wall_clock) |> elem(0)\r"); err != nil {
		return time.Time{}, err
	}
	if _, err := t.waitFor(ctx, "elem(0)\r\n", replyTimeout); err != nil {
		return time.Time{}, err
	}
	out, at, err := t.waitText(ctx, sandbox.PromptNumber(2), replyTimeout)
	if err != nil {
		return time.Time{}, err
	}
	// The answer is the last number before the prompt: the redraw of the
	// line on Enter comes first.
	all := uptimeRE.FindAllStringSubmatch(ansiEscape.ReplaceAllString(out, ""), -1)
	if all == nil {
		return time.Time{}, fmt.Errorf("no uptime in %q", out)
	}
	n, _ := strconv.Atoi(all[len(all)-1][1])
	read := t0.Add(at.Sub(t0) / 2)
	return read.Add(-time.Duration(n) * time.Millisecond), nil
}
