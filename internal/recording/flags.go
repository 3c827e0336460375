package recording

import (
	"errors"
	"flag"
	"fmt"

	"github.com/docker/go-units"
)

// Flags are recordings' settings as command-line flags: the Config a flag
// sets directly, and the text of the switch and the sizes, read by
// Validate.
type Flags struct {
	Config
	Recordings        string // -recordings: on or off
	MaxBytes, Storage string // -record-max-bytes and -record-storage, such as 8m
}

// RegisterFlags binds f to its flags in fs.
func (f *Flags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.Recordings, "recordings", "on", "on: sessions whose hello asks (\"record\") are recorded; off: nothing is recorded and no store is opened")
	fs.StringVar(&f.MaxBytes, "record-max-bytes", "8m", "most output one recording keeps; then it stops and the session goes on")
	fs.StringVar(&f.Storage, "record-storage", "2g", "most all recordings may take together; beyond it new recordings are refused with a warning (0: no bound)")
	fs.IntVar(&f.PerHour, "record-rate", DefaultPerHour, "most new recordings per client address an hour (0: no bound)")
	fs.DurationVar(&f.Retention, "record-retention", DefaultRetention, "how long a recording is kept (0: forever)")
}

// Validate refuses settings recordings cannot work with and reads the
// switch and the sizes into Config.
func (f *Flags) Validate() error {
	switch f.Recordings {
	case "on", "off":
		f.Off = f.Recordings == "off"
	default:
		return fmt.Errorf("-recordings %q: want on or off", f.Recordings)
	}
	if f.PerHour < 0 || f.Retention < 0 {
		return errors.New("-record-rate and -record-retention must not be negative")
	}
	var err error
	if f.Config.MaxBytes, err = size("record-max-bytes", f.MaxBytes, 1); err != nil {
		return err
	}
	f.Config.Storage, err = size("record-storage", f.Storage, 0)
	return err
}

func size(name, s string, least int64) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n < least {
		return 0, fmt.Errorf("-%s %q: want a size of at least %d bytes, such as 8m", name, s, least)
	}
	return n, nil
}
