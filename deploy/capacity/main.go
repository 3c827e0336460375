// Command capacity opens N idle iexbox sessions and reports the drop of the host's
// MemAvailable per session, the figure docs/deploy.md divides host memory by.
// It counts the host's running containers before, during and after: a
// change not its own means someone else disturbed the measurement.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"iexbox/internal/client"
	"iexbox/internal/sandbox"
)

func memAvailable() int64 {
	f, _ := os.Open("/proc/meminfo")
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func containers() int {
	out, _ := exec.Command("docker", "ps", "-q").Output()
	return len(strings.Fields(string(out)))
}

func sample(settle time.Duration) int64 {
	time.Sleep(settle)
	var sum int64
	for range 5 {
		sum += memAvailable()
		time.Sleep(time.Second)
	}
	return sum / 5
}

// promptWait bounds one session's boot, up to iex's first prompt.
const promptWait = 60 * time.Second

// open opens a session and waits for its first prompt; the client keeps
// reading (and answering pings) until it is closed.
func open(url string) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), promptWait)
	defer cancel()
	c, _, err := client.Dial(ctx, url, client.Options{})
	if err != nil {
		return nil, err
	}
	if err := c.Hello(client.Hello{Cols: 80, Rows: 24}); err == nil {
		err = c.WaitOutput(ctx, sandbox.Prompt)
	}
	if err != nil {
		c.Drop()
		return nil, err
	}
	return c, nil
}

func main() {
	url := flag.String("url", "ws://127.0.0.1:18100/ws", "server")
	n := flag.Int("n", 30, "sessions")
	settle := flag.Duration("settle", 20*time.Second, "wait before measuring")
	flag.Parse()
	c0 := containers()
	before := sample(*settle / 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []*client.Conn
	sem := make(chan struct{}, 4)
	for range *n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := open(*url)
			if err != nil {
				fmt.Println("open:", err)
				os.Exit(1)
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	c1 := containers()
	during := sample(*settle)
	for _, c := range conns {
		c.Close()
	}
	after := sample(*settle)
	c2 := containers()
	base := (before + after) / 2
	fmt.Printf("sessions %d: MemAvailable before %d MiB, with them %d MiB, after %d MiB; containers on the host %d/%d/%d\n",
		*n, before>>20, during>>20, after>>20, c0, c1, c2)
	fmt.Printf("per idle session: %.1f MiB (against before), %.1f MiB (against the mean of before and after)\n",
		float64(before-during)/float64(*n)/(1<<20), float64(base-during)/float64(*n)/(1<<20))
}
