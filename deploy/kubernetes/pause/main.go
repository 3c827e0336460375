// Command pause is the Pod sandbox ("infra") container of the single-node
// test cluster of scripts/kube-up.sh: it holds the Pod's namespaces open,
// reaps any child that lands on it, and exits on SIGINT or SIGTERM. It is
// built static and packed into the image iexbox.local/pause, so the
// cluster never pulls the usual pause image from a registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
