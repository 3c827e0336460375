package admission

import (
	"errors"
	"flag"
	"time"

	"iexbox/internal/sandbox"
)

// Flags are admission's settings as command-line flags: the Config a flag
// sets directly, and the text of the input sizes, read by Validate.
type Flags struct {
	Config
	InputRate, InputBurst string // -input-rate and -input-burst, such as 256k
}

// RegisterFlags binds f to its flags in fs; the bounds no flag sets take
// their defaults.
func (f *Flags) RegisterFlags(fs *flag.FlagSet) {
	c, a := &f.Config, &f.Addresses
	a.PreHello, a.PreHelloTotal, a.Viewers = DefaultPreHello, DefaultPreHelloTotal, DefaultViewers
	fs.DurationVar(&c.Limits.Idle, "idle-timeout", 5*time.Minute, "end a session after this long without keyboard input (0 disables)")
	fs.DurationVar(&c.Limits.Lifetime, "max-lifetime", 30*time.Minute, "end every session this long after it started (0 disables)")
	fs.IntVar(&c.MaxSessions, "max-sessions", 0, "most concurrent sessions (0: from host memory and the idle footprint of a session)")
	fs.IntVar(&a.Waiting, "client-queue", 200, "most clients of one address waiting in line")
	fs.IntVar(&a.Sessions, "client-sessions", 0, "a hard cap on concurrent sessions per client address (IPv4 address or IPv6 /64), waiting ones included (0: only the fair share bounds them); every per-address bound holds for an IPv6 /56 at 4 and a /48 at 16 times the /64's")
	fs.IntVar(&a.PerMin, "client-rate", 30, "new sessions per minute per client address, sustained, after -client-burst (0: no limit); an IPv6 /56 4 and a /48 16 times as many")
	fs.IntVar(&a.Burst, "client-burst", 120, "new sessions one client address may open at once before -client-rate applies (a classroom's wave)")
	fs.IntVar(&a.Floor, "client-floor", 4, "sessions any client address may hold, however busy the server (the fair share's floor)")
	fs.Float64Var(&a.FairFrom, "client-fair-from", 0.5, "share of -max-sessions held (sessions and waiting clients) from which each address is held to its fair share of it: max(-client-floor, max-sessions / addresses holding any)")
	fs.StringVar(&f.InputRate, "input-rate", "256k", "keyboard input per session, bytes per second (0: no cap)")
	fs.StringVar(&f.InputBurst, "input-burst", "1m", "input a session may send at once before -input-rate applies (a paste)")
	fs.DurationVar(&c.Grace, "resume-grace", 30*time.Second, "keep a session whose client asked for it (hello \"resumable\") alive this long after its connection drops, so a reload or a network blip can resume it (0: never)")
	fs.IntVar(&c.MaxViewers, "max-viewers", 200, "most read-only viewers of one shared session")
	fs.IntVar(&a.ViewersTotal, "max-viewers-total", 2000, "most read-only viewers of all shared sessions together (0: no bound)")
	fs.DurationVar(&c.CheckTimeout, "check-timeout", 10*time.Second, "longest run of one exercise check, from the request to its result")
}

// Validate refuses the settings admission cannot work with and reads the
// input sizes into Limits, once. (-client-queue and -client-fair-from
// are checked with the pool's flags they are documented with.)
func (f *Flags) Validate() error {
	c, a := &f.Config, f.Addresses
	if c.MaxViewers < 0 || a.ViewersTotal < 0 {
		return errors.New("-max-viewers and -max-viewers-total must not be negative")
	}
	if c.CheckTimeout <= 0 {
		return errors.New("-check-timeout must be positive")
	}
	if c.Limits.Idle < 0 || c.Limits.Lifetime < 0 || c.Grace < 0 {
		return errors.New("durations must not be negative")
	}
	if c.MaxSessions < 0 {
		return errors.New("-max-sessions must not be negative")
	}
	if a.Sessions < 0 || a.PerMin < 0 || a.Burst < 0 || a.Floor < 0 {
		return errors.New("-client-sessions, -client-rate, -client-burst and -client-floor must not be negative")
	}
	rate, err := sandbox.ParseSize("input-rate", f.InputRate, 0)
	if err != nil {
		return err
	}
	burst, err := sandbox.ParseSize("input-burst", f.InputBurst, 0)
	if err != nil {
		return err
	}
	c.Limits.InputRate, c.Limits.InputBurst = int(rate), int(burst)
	return nil
}
