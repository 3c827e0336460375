package main

import (
	"context"
	"time"

	"iexbox/internal/sandbox"
)

// promptResult is time to prompt: from the start of the WebSocket dial (or
// of `docker run`) to `iex(1)> ` received.
type promptResult struct {
	Warm           dist      `json:"warm"`
	WarmReady      dist      `json:"warm_dial_to_ready"`
	Cold           *dist     `json:"cold,omitempty"`
	Docker         dist      `json:"docker_run"`
	DockerOverWarm float64   `json:"docker_p50_over_warm_p50"`
	WarmOverDocker float64   `json:"warm_p50_over_docker_p50"`
	ColdOverDocker float64   `json:"cold_p50_over_docker_p50,omitempty"`
	WarmSamples    []float64 `json:"warm_samples_ms"`
	ColdSamples    []float64 `json:"cold_samples_ms,omitempty"`
	DockerSamples  []float64 `json:"docker_samples_ms"`
}

// measurePrompt takes n samples of each path, interleaved (warm, cold,
// docker run) so that drift on a noisy host hits all three alike. Before
// every sample each server is idle with a full pool: no boot in the
// background competes for the CPU.
func (b *bench) measurePrompt(ctx context.Context) error {
	var warm, warmReady, cold, docker []time.Duration
	settle := func() error {
		if err := b.warm.waitSettled(ctx, 0, settleTimeout); err != nil {
			return err
		}
		if b.cold != nil {
			return b.cold.waitSettled(ctx, 0, settleTimeout)
		}
		return nil
	}
	for i := range b.cfg.n {
		if err := settle(); err != nil {
			return err
		}
		s, d, err := b.openPrompt(ctx, b.warm)
		if err != nil {
			return err
		}
		s.close()
		warm, warmReady = append(warm, d), append(warmReady, s.readyAfter)
		if b.cold != nil {
			if err := settle(); err != nil {
				return err
			}
			if d, err = b.promptOnce(ctx, b.cold); err != nil {
				return err
			}
			cold = append(cold, d)
		}
		if err := settle(); err != nil {
			return err
		}
		if d, err = b.dockerPromptOnce(ctx); err != nil {
			return err
		}
		docker = append(docker, d)
		if (i+1)%10 == 0 {
			b.logf("prompt: %d/%d (last warm %v, docker %v)", i+1, b.cfg.n, warm[i].Round(time.Microsecond), d.Round(time.Millisecond))
		}
	}
	r := &promptResult{Warm: summarize(warm), WarmReady: summarize(warmReady), Docker: summarize(docker),
		WarmSamples: msList(warm), DockerSamples: msList(docker)}
	r.DockerOverWarm = ratio(r.Docker.P50, r.Warm.P50)
	r.WarmOverDocker = ratio(r.Warm.P50, r.Docker.P50)
	if b.cold != nil {
		c := summarize(cold)
		r.Cold, r.ColdSamples = &c, msList(cold)
		r.ColdOverDocker = ratio(c.P50, r.Docker.P50)
	}
	b.report.Prompt = r
	return nil
}

// promptOnce opens one session, times it to the first prompt and closes it.
func (b *bench) promptOnce(ctx context.Context, srv *server) (time.Duration, error) {
	s, d, err := b.openPrompt(ctx, srv)
	if err != nil {
		return 0, err
	}
	s.close()
	return d, nil
}

// dockerPromptOnce times `docker run --rm -it ... iex` on a pty to its
// first prompt, then halts it and waits for the container to go.
func (b *bench) dockerPromptOnce(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	p, err := b.dockerRunIex()
	if err != nil {
		return 0, err
	}
	defer p.close("System.halt()\r", 10*time.Second)
	at, err := p.waitFor(ctx, sandbox.Prompt, promptTimeout)
	if err != nil {
		return 0, err
	}
	return at.Sub(t0), nil
}
