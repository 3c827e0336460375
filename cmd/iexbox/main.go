// Command iexbox serves an Elixir REPL (iex) in the browser: every WebSocket
// session gets its own fresh, hardened sandbox, destroyed when it ends.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		if err != errHelp {
			fmt.Fprintln(os.Stderr, "iexbox:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if err == errHelp {
		return 0
	}
	return 1
}
