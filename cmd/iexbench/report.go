package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
)

// report is the JSON document of one run.
type report struct {
	Tool      string                `json:"tool"`
	Started   string                `json:"started"`
	DurationS float64               `json:"duration_s"`
	Runtime   string                `json:"runtime"` // the -url server's
	Args      []string              `json:"args"`
	Note      string                `json:"note,omitempty"`
	Machine   machine               `json:"machine"`
	Baseline  baselineInfo          `json:"baseline"`
	Servers   map[string]serverInfo `json:"servers"`

	Prompt     *promptResult      `json:"time_to_prompt,omitempty"`
	Echo       *echoResult        `json:"keystroke_echo,omitempty"`
	Eval       *evalResult        `json:"eval,omitempty"`
	Check      *checkResult       `json:"check,omitempty"`
	Throughput *throughputResult  `json:"throughput,omitempty"`
	Churn      *churnResult       `json:"churn,omitempty"`
	Boot       *bootResult        `json:"boot,omitempty"`
	Density    *densityResult     `json:"density,omitempty"`
	Waves      []*waveResult      `json:"waves,omitempty"`
	Arrivals   *arrivalsResult    `json:"arrivals,omitempty"`
	Toolchains []*toolchainResult `json:"toolchains,omitempty"`
	Class      *classResult       `json:"class,omitempty"`

	Noise      map[string]hostNoise  `json:"host_at_start_of,omitempty"`
	Throttling map[string]throttling `json:"sandbox_cgroup_throttling,omitempty"`
	Errors     []string              `json:"errors,omitempty"`
}

type baselineInfo struct {
	Runtime string `json:"runtime"`
	Image   string `json:"image"`
	Command string `json:"command"`
	Seccomp string `json:"seccomp"`
}

type serverInfo struct {
	URL         string `json:"url"`
	PID         int    `json:"pid"`
	Version     string `json:"version"` // its build, from /status
	Instance    string `json:"instance"`
	Runtime     string `json:"runtime"`
	Pool        int    `json:"pool"`
	MaxSessions int    `json:"max_sessions"`
}

func writeJSON(path string, r *report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// row is one line of the table.
type row struct {
	figure, runtime, iexbox, docker, ratio, target, met string
}

// verdict is "yes", "NO" or "-" (no target on this runtime).
func verdict(applies, ok bool) string {
	switch {
	case !applies:
		return "-"
	case ok:
		return "yes"
	}
	return "NO"
}

// tableRows are a report's figures beside their baseline and target.
func tableRows(r *report) []row {
	rt := r.Runtime
	runc := rt == "runc"
	var rows []row
	add := func(figure, iexbox, docker, ratio, target, met string) {
		rows = append(rows, row{figure, rt, iexbox, docker, ratio, target, met})
	}
	if p := r.Prompt; p != nil {
		add("prompt warm p50/p95/p99 ms", f3(p.Warm.P50, p.Warm.P95, p.Warm.P99), f3(p.Docker.P50, p.Docker.P95, p.Docker.P99),
			fmt.Sprintf("%.0fx faster", p.DockerOverWarm), "p50<=20 p99<=100 >=50x",
			verdict(true, p.Warm.P50 <= 20 && p.Warm.P99 <= 100 && p.DockerOverWarm >= 50))
		if p.Cold != nil {
			add("prompt cold p50/p95/p99 ms", f3(p.Cold.P50, p.Cold.P95, p.Cold.P99), f3(p.Docker.P50, p.Docker.P95, p.Docker.P99),
				fmt.Sprintf("%.3f", p.ColdOverDocker), "<=1.10", verdict(true, p.ColdOverDocker <= 1.10))
		}
	}
	if e := r.Echo; e != nil {
		add("echo 1 session p50/p99 ms", f2(e.One.P50, e.One.P99), optF2(e.DockerOne), optRatio(e.One.P50, e.DockerOne),
			"p50<=1 (runc)", verdict(runc, e.One.P50 <= 1))
		for _, l := range e.Loads {
			add(fmt.Sprintf("echo %d sessions, key every %.0f ms, p50/p99 ms", e.Sessions, l.GapMs), f2(l.IexBox.P50, l.IexBox.P99),
				optF2(l.Docker), optRatio(l.IexBox.P50, l.Docker), "p99<=10 (runc)", verdict(runc && l.IexBox.N > 0, l.IexBox.P99 <= 10))
		}
	}
	if e := r.Eval; e != nil {
		add("eval 1+1 p50/p99 ms", f2(e.IexBox.P50, e.IexBox.P99), optF2(e.Docker), optRatio(e.IexBox.P50, e.Docker), "report", "-")
	}
	if c := r.Check; c != nil && c.IexBox.N > 0 {
		target, limit := "p50<=1000 (runc)", 1000.0
		if !runc {
			target, limit = "p50<=2000 (runsc)", 2000
		}
		add(fmt.Sprintf("check of a %d-test exercise p50/p95 ms", c.Tests), f2(c.IexBox.P50, c.IexBox.P95), "", "",
			target, verdict(true, c.IexBox.P50 <= limit))
	}
	if t := r.Throughput; t != nil {
		add("iex 20 MB output MB/s", fmt.Sprintf("%.2f", t.Iex.MBps), fmt.Sprintf("%.2f", t.DockerIex.MBps),
			fmt.Sprintf("%.3f", t.IexOverDocker), ">=0.95 of docker", verdict(t.DockerIex.MBps > 0, t.IexOverDocker >= 0.95))
		add("sh 20 MB via docker run -it MB/s", "", fmt.Sprintf("%.1f", t.DockerSh.MBps), "", "context", "-")
		if t.Process != nil {
			add("fast producer 1 session MB/s", fmt.Sprintf("%.1f", t.Process.MBps), fmt.Sprintf("%.1f (local pty)", t.LocalPty.MBps),
				fmt.Sprintf("%.3f", t.ProcessOverLocal), ">=100", verdict(true, t.Process.MBps >= 100))
			add("server RSS growth per flooding session MiB", fmt.Sprintf("%.1f", t.RSSPerSessionMiB), "", "",
				"<2", verdict(true, t.RSSPerSessionMiB < 2))
		}
	}
	if c := r.Churn; c != nil {
		add("churn sessions/s", fmt.Sprintf("%.2f (ceiling %.2f)", c.PerSecond, c.CeilingPerS), "", "",
			">=2 (runc)", verdict(runc, c.PerSecond >= 2))
		add("churn leaked containers", fmt.Sprintf("%d", c.Leaked), "", "", "0", verdict(true, c.Leaked == 0))
		add("host CPU s per churned session", fmt.Sprintf("%.3f", c.CPUPerSession), "", "", "report", "-")
	}
	if bt := r.Boot; bt != nil {
		add("docker run elixir -e :ok CPU s / wall ms", "", fmt.Sprintf("%.3f / %.0f", bt.ElixirCPUPerRun, bt.ElixirWall.P50), "", "report", "-")
	}
	if d := r.Density; d != nil {
		i := d.Idle
		dock, rat, dockIdle, dockStack := "", "", "", ""
		if x := d.Docker; x != nil {
			dock, rat = fmt.Sprintf("%.1f / %.1f", x.PerSessionMiB, x.FreedMiB), fmt.Sprintf("%.3f", ratio(i.PerSessionMiB, x.PerSessionMiB))
			dockIdle, dockStack = fmt.Sprintf("%.1f", x.HostIdlePct), fmt.Sprintf("%.2f", x.StackCPUPct["total"])
		}
		add(fmt.Sprintf("idle MiB per session (%d), open / close", i.N), fmt.Sprintf("%.1f / %.1f", i.PerSessionMiB, i.FreedMiB), dock, rat,
			"<=40 (runc)", verdict(runc, i.PerSessionMiB <= 40))
		add(fmt.Sprintf("host idle %% with %d idle sessions", i.N), fmt.Sprintf("%.1f", i.HostIdlePct), dockIdle, "",
			">95 (runc)", verdict(runc, i.HostIdlePct > 95))
		add(fmt.Sprintf("stack CPU %% with %d idle sessions", i.N), fmt.Sprintf("%.2f", i.StackCPUPct["total"]), dockStack, "",
			"<5 (runc)", verdict(runc, i.StackCPUPct["total"] < 5))
		if d.Max != nil {
			add("most idle sessions", fmt.Sprintf("%d", d.Max.Reached), "", "", ">=300 (runc)", verdict(runc, d.Max.Reached >= 300))
		}
	}
	waveRows(r, add)
	toolchainRows(r, add)
	classRows(r, add)
	return rows
}

// printTable prints the reports' figures as one table, each figure's rows
// together (one per report, so runc and runsc sit side by side), as aligned
// text or as Markdown; then the reports' errors.
func printTable(w io.Writer, markdown bool, reports ...*report) {
	var order []string
	byFigure := map[string][]row{}
	for _, r := range reports {
		for _, x := range tableRows(r) {
			if _, seen := byFigure[x.figure]; !seen {
				order = append(order, x.figure)
			}
			byFigure[x.figure] = append(byFigure[x.figure], x)
		}
	}
	header := row{"figure", "runtime", "iexbox", "docker run", "ratio", "target", "met"}
	if markdown {
		line := func(x row) {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", x.figure, x.runtime, x.iexbox, x.docker, x.ratio, x.target, x.met)
		}
		line(header)
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
		for _, f := range order {
			for _, x := range byFigure[f] {
				line(x)
			}
		}
	} else {
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		line := func(x row) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.figure, x.runtime, x.iexbox, x.docker, x.ratio, x.target, x.met)
		}
		line(header)
		for _, f := range order {
			for _, x := range byFigure[f] {
				line(x)
			}
		}
		tw.Flush()
	}
	for _, r := range reports {
		for _, e := range r.Errors {
			fmt.Fprintf(w, "error (%s): %s\n", r.Runtime, e)
		}
	}
}

// readReport loads a report written with -json.
func readReport(path string) (*report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := new(report)
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func f3(a, b, c float64) string { return fmt.Sprintf("%.1f / %.1f / %.1f", a, b, c) }
func f2(a, b float64) string    { return fmt.Sprintf("%.3f / %.3f", a, b) }

func optF2(d *dist) string {
	if d == nil {
		return ""
	}
	return f2(d.P50, d.P99)
}

func optRatio(a float64, d *dist) string {
	if d == nil {
		return ""
	}
	return fmt.Sprintf("%.3f", ratio(a, d.P50))
}
