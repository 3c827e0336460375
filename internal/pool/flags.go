package pool

import (
	"errors"
	"flag"
	"runtime"
	"time"
)

// RegisterFlags binds the settings of c that flags set to fs; Size is
// the server's (-pool auto|N), the size warm sandboxes start with 80x24.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Cols, c.Rows = 80, 24
	fs.IntVar(&c.Parallel, "boot-parallel", runtime.NumCPU()+1, "sandboxes booted at once (warm members and waiting clients together); more boots sharing the CPU all finish late (default: the number of cores plus one, measured best in docs/benchmarks.md)")
	fs.IntVar(&c.QueueMax, "queue-max", 500, "most clients waiting in line, all addresses together")
	fs.DurationVar(&c.MaxAge, "pool-max-age", 30*time.Minute, "replace a warm sandbox that has waited this long")
}

// Validate refuses a pool that could boot nothing. (-pool-max-age and
// -queue-max are checked with the server's flags they are documented with.)
func (c Config) Validate() error {
	if c.Parallel < 1 {
		return errors.New("-boot-parallel must be at least 1")
	}
	return nil
}
