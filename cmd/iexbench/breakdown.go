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

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	units "github.com/docker/go-units"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"iexbox/internal/docker"
	"iexbox/internal/session"
)

// breakdown is where the time of a cold start goes, measured on the
// server's own Docker adapter (internal/docker) with every Engine API call
// timed, plus the BEAM's own uptime at its first prompt; and the keystroke
// echo through the bare attach stream, without the WebSocket hop.
type breakdown struct {
	Samples      int  `json:"samples"`
	Create       dist `json:"create"`
	Attach       dist `json:"attach"`
	Start        dist `json:"start"`
	Resize       dist `json:"first_resize"`
	RuntimeStart dist `json:"adapter_start_total"`
	ExecToVM     dist `json:"start_return_to_beam_start"`
	BEAMToPrompt dist `json:"beam_start_to_prompt"`
	Prompt       dist `json:"adapter_start_to_prompt"`
	Remove       dist `json:"remove"`
	AttachEcho   dist `json:"attach_stream_echo"`
	AttachEval   dist `json:"attach_stream_eval"`
}

// timedAPI is the Docker client with the calls of a start timed. The
// adapter takes any value with its client's methods.
type timedAPI struct {
	*client.Client
	mu    sync.Mutex
	calls map[string]time.Duration
}

func (t *timedAPI) record(name string, t0 time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls[name] += time.Since(t0)
}

func (t *timedAPI) take() map[string]time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls
	t.calls = map[string]time.Duration{}
	return c
}

func (t *timedAPI) ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, p *ocispec.Platform, name string) (container.CreateResponse, error) {
	defer t.record("create", time.Now())
	return t.Client.ContainerCreate(ctx, cfg, host, net, p, name)
}

func (t *timedAPI) ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error) {
	defer t.record("attach", time.Now())
	return t.Client.ContainerAttach(ctx, id, opts)
}

func (t *timedAPI) ContainerStart(ctx context.Context, id string, opts container.StartOptions) error {
	defer t.record("start", time.Now())
	return t.Client.ContainerStart(ctx, id, opts)
}

func (t *timedAPI) ContainerResize(ctx context.Context, id string, opts container.ResizeOptions) error {
	defer t.record("resize", time.Now())
	return t.Client.ContainerResize(ctx, id, opts)
}

func (t *timedAPI) ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error {
	defer t.record("remove", time.Now())
	return t.Client.ContainerRemove(ctx, id, opts)
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
	mem, err := units.RAMInBytes(b.cfg.memory)
	if err != nil {
		return nil, fmt.Errorf("-memory: %w", err)
	}
	cpus, err := strconv.ParseFloat(b.cfg.cpus, 64)
	if err != nil {
		return nil, fmt.Errorf("-cpus: %w", err)
	}
	api := &timedAPI{Client: cli, calls: map[string]time.Duration{}}
	rt := docker.New(api, docker.Config{
		Image: b.cfg.image, Runtime: b.cfg.runtime, Instance: b.cfg.label + "-breakdown",
		Memory: mem, CPUs: cpus, Pids: int64(b.cfg.pids), NoFile: int64(b.cfg.nofile), TmpfsSize: b.cfg.tmpfs,
		UIDBase: 100000, Network: "none", DNS: []string{"127.0.0.1"},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer rt.Sweep(context.WithoutCancel(ctx))

	var create, attach, start, resize, total, toVM, vmToPrompt, prompt, remove, echo, eval []time.Duration
	for i := range b.cfg.bootK {
		if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
			return nil, err
		}
		t0 := time.Now()
		sb, err := rt.Start(ctx, session.Spec{ID: fmt.Sprintf("%s-bd-%d", b.cfg.label, i), Cols: b.cfg.cols, Rows: b.cfg.rows})
		if err != nil {
			return nil, err
		}
		started := time.Now()
		bs := newSandboxTerm(sb)
		at, err := bs.waitFor(ctx, "iex(1)> ", promptTimeout)
		if err == nil {
			calls := api.take()
			create, attach, start, resize = append(create, calls["create"]), append(attach, calls["attach"]),
				append(start, calls["start"]), append(resize, calls["resize"])
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
				if s, err = evalLoop(ctx, bs, 2, b.cfg.evals, b.cfg.keyGap); err == nil {
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
		Create: summarize(create), Attach: summarize(attach), Start: summarize(start), Resize: summarize(resize),
		RuntimeStart: summarize(total), ExecToVM: summarize(toVM), BEAMToPrompt: summarize(vmToPrompt),
		Prompt: summarize(prompt), Remove: summarize(remove), AttachEcho: summarize(echo), AttachEval: summarize(eval)}
	b.logf("breakdown: create %.0f attach %.0f start %.0f resize %.0f ms; start->BEAM %.0f ms, BEAM->prompt %.0f ms; remove %.0f ms; attach echo p50 %.3f ms",
		bd.Create.P50, bd.Attach.P50, bd.Start.P50, bd.Resize.P50, bd.ExecToVM.P50, bd.BEAMToPrompt.P50, bd.Remove.P50, bd.AttachEcho.P50)
	return bd, nil
}

// sandboxTerm reads a session.Sandbox into a terminal.
type sandboxTerm struct {
	*terminal
	sb session.Sandbox
}

func newSandboxTerm(sb session.Sandbox) *sandboxTerm {
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
	out, at, err := t.waitText(ctx, "iex(2)> ", replyTimeout)
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
