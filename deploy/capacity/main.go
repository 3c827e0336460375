// Command capacity opens N idle iexbox sessions and reports the drop of the host's
// MemAvailable per session, the figure docs/deploy.md divides host memory by.
// It counts the host's running containers before, during and after: a
// change not its own means someone else disturbed the measurement.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
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

func open(url string) (*websocket.Conn, error) {
	d := websocket.Dialer{Proxy: nil, Subprotocols: []string{"iexbox.v1"}, HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	c.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","cols":80,"rows":24}`))
	var out []byte
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	for !strings.Contains(string(out), "iex(1)> ") {
		typ, data, err := c.ReadMessage()
		if err != nil {
			return nil, err
		}
		if typ == websocket.BinaryMessage {
			out = append(out, data...)
			c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"ack","bytes":%d}`, len(data))))
		}
	}
	c.SetReadDeadline(time.Time{})
	go func() { // keep reading (pings) until closed
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
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
	var conns []*websocket.Conn
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
