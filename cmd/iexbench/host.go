package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTick = 100

// cpuSample is the host's CPU time from /proc/stat, in ticks.
type cpuSample struct{ total, idle int64 }

func readCPU() cpuSample {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	var s cpuSample
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		s.total += n
		if i == 3 || i == 4 { // idle, iowait
			s.idle += n
		}
	}
	return s
}

// busySeconds is the CPU time all cores spent busy between a and b.
func busySeconds(a, b cpuSample) float64 {
	return float64((b.total-b.idle)-(a.total-a.idle)) / clockTick
}

// idlePercent is the share of the host's CPU time spent idle between a and b.
func idlePercent(a, b cpuSample) float64 {
	if b.total == a.total {
		return 100
	}
	return 100 * float64(b.idle-a.idle) / float64(b.total-a.total)
}

// meminfo returns a /proc/meminfo field in bytes.
func meminfo(field string) int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// vmRSS returns a process's resident set in bytes, 0 if unknown.
func vmRSS(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// procCPU returns utime+stime, in seconds, of a process.
func procCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(u+s) / clockTick
}

// pidsByName lists the processes whose command name is name.
func pidsByName(name string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	var pids []int
	for _, d := range dirs {
		comm, err := os.ReadFile(d)
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		pids = append(pids, pid)
	}
	return pids
}

// cpuByName sums procCPU over the processes named name.
func cpuByName(name string) float64 {
	var s float64
	for _, pid := range pidsByName(name) {
		s += procCPU(pid)
	}
	return s
}

var ssPID = regexp.MustCompile(`pid=(\d+)`)

// listenerPID finds the process listening on a loopback TCP port with ss.
func listenerPID(port string) (int, error) {
	out, err := exec.Command("ss", "-Hltnp", "sport = :"+port).Output()
	if err != nil {
		return 0, fmt.Errorf("ss: %w", err)
	}
	m := ssPID.FindSubmatch(out)
	if m == nil {
		return 0, errors.New("no process listens on port " + port)
	}
	return strconv.Atoi(string(m[1]))
}

// rssSampler records the largest resident set of a process while it runs.
type rssSampler struct {
	stop chan struct{}
	done chan int64
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		peak := vmRSS(pid)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				peak = max(peak, vmRSS(pid))
			case <-s.stop:
				s.done <- max(peak, vmRSS(pid))
				return
			}
		}
	}()
	return s
}

// peak stops sampling and returns the largest resident set seen.
func (s *rssSampler) peak() int64 {
	close(s.stop)
	return <-s.done
}

// machine describes the host, for the report.
type machine struct {
	Cores             int    `json:"cores"`
	MemTotalMiB       int64  `json:"mem_total_mib"`
	Kernel            string `json:"kernel"`
	DockerVersion     string `json:"docker_version"`
	Runtimes          string `json:"docker_runtimes"`
	CPUModel          string `json:"cpu_model"`
	LoadAvg           string `json:"loadavg_at_start"`
	ForeignContainers int    `json:"containers_at_start"`
}

func describeMachine(cores int) machine {
	m := machine{Cores: cores, MemTotalMiB: meminfo("MemTotal") >> 20}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadAvg = loadAvg()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output(); err == nil {
		m.DockerVersion = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("docker", "info", "--format", "{{range $k, $v := .Runtimes}}{{$k}} {{end}}").Output(); err == nil {
		m.Runtimes = strings.TrimSpace(string(out))
	}
	return m
}
