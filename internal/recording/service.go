// Package recording makes and serves asciicast v2 recordings of
// sessions: a Recording takes one session's output, sizes and markers
// and writes them to the store as it goes; the Service begins recordings
// under the storage bound, streams a recording's cast, deletes one with
// its delete token and forgets those past their retention.
//
// Goroutines: each Recording has a flusher, started by Begin and joined
// by the Recording's Close; the Service's Run is the retention sweep, run
// by its caller.
package recording

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"iexbox/internal/store"
)

// Config bounds recordings.
type Config struct {
	// Off turns recording off: hellos asking for it are not recorded.
	Off bool
	// MaxBytes is the most output one recording keeps (8 MiB by default).
	MaxBytes int64
	// Storage is the most all recordings may take together; new ones are
	// refused beyond it (2 GiB by default; 0: no bound).
	Storage int64
	// PerHour is the most new recordings one client address may begin an
	// hour (10 by default); admission's Addresses enforces it.
	PerHour int
	// Retention is how long a recording is kept (30 days by default).
	Retention time.Duration
}

// Defaults.
const (
	DefaultMaxBytes  = 8 << 20
	DefaultStorage   = 2 << 30
	DefaultPerHour   = 10
	DefaultRetention = 30 * 24 * time.Hour
)

// ErrStorageFull refuses a recording when all recordings together take
// Config.Storage.
var ErrStorageFull = errors.New("recording storage is full")

// ErrNotFound means no recording has that id, or a delete token does not
// match.
var ErrNotFound = store.ErrNotFound

// Observer hears of recordings for the metrics.
type Observer interface {
	RecordingOpened()
	RecordingClosed()
	RecordingStored(bytes int)
	RecordingRefused(reason string)
	RecordingStopped()
}

// Service begins, serves and forgets recordings. It is safe for
// concurrent use.
type Service struct {
	cfg     Config
	st      *store.Store
	log     *slog.Logger
	metrics observer
}

// New returns a Service keeping recordings in st; obs may be nil.
func New(cfg Config, st *store.Store, obs Observer, log *slog.Logger) *Service {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	return &Service{cfg: cfg, st: st, log: log, metrics: observer{obs}}
}

// Config is the service's configuration.
func (s *Service) Config() Config { return s.cfg }

func randomHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Begin starts recording a session of a cols×rows terminal for the client
// address addr. The caller must Close the Recording. It returns
// ErrStorageFull when the storage bound is reached.
func (s *Service) Begin(ctx context.Context, addr string, cols, rows int) (*Recording, error) {
	if s.cfg.Storage > 0 {
		used, err := s.st.RecordingBytes(ctx)
		if err != nil {
			return nil, fmt.Errorf("recording storage: %w", err)
		}
		if used >= s.cfg.Storage {
			s.Refused("storage")
			return nil, ErrStorageFull
		}
	}
	start := time.Now()
	r := &Recording{svc: s, id: randomHex(), deleteToken: randomHex(), start: start, max: s.cfg.MaxBytes,
		stop: make(chan struct{}), done: make(chan struct{})}
	r.log = s.log.With("recording", r.id)
	err := s.st.CreateRecording(ctx, store.Recording{ID: r.id, DeleteToken: r.deleteToken, Address: addr,
		Created: start, Header: headerLine(cols, rows, start)})
	if err != nil {
		s.Refused("error")
		return nil, fmt.Errorf("create recording: %w", err)
	}
	s.metrics.opened()
	go r.flusher()
	return r, nil
}

// Refused counts a recording refused for reason (storage, rate, error).
func (s *Service) Refused(reason string) { s.metrics.refused(reason) }

// castPage is how many chunks one read of a cast takes from the store.
const castPage = 64

// Info describes a stored recording.
type Info struct {
	Complete bool  // the session has ended
	Bytes    int64 // the events' size, without the header
}

// Stat reports whether recording id exists, and how far it is.
func (s *Service) Stat(ctx context.Context, id string) (Info, error) {
	r, err := s.st.RecordingInfo(ctx, id)
	if err != nil {
		return Info{}, err
	}
	return Info{Complete: !r.Ended.IsZero(), Bytes: r.Bytes}, nil
}

// WriteCast writes recording id as an asciicast v2 file to w: what is
// stored now, of a live recording the part up to the last flush. It
// returns ErrNotFound, before writing anything, when there is none.
func (s *Service) WriteCast(ctx context.Context, id string, w io.Writer) error {
	r, err := s.st.RecordingInfo(ctx, id)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, r.Header+"\n"); err != nil {
		return err
	}
	for seq := 0; ; {
		chunks, err := s.st.RecordingChunks(ctx, id, seq, castPage)
		if err != nil {
			return err
		}
		for _, c := range chunks {
			if _, err := w.Write(c); err != nil {
				return err
			}
		}
		if len(chunks) < castPage {
			return nil
		}
		seq += len(chunks)
	}
}

// Delete deletes recording id when token is its delete token, else
// ErrNotFound.
func (s *Service) Delete(ctx context.Context, id, token string) error {
	return s.st.DeleteRecording(ctx, id, token)
}

// sweepEvery is how often Run forgets recordings past their retention.
const sweepEvery = time.Hour

// Run forgets recordings older than the retention, at once and then every
// sweepEvery, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	if s.cfg.Retention <= 0 {
		return
	}
	for {
		n, err := s.st.DeleteRecordingsBefore(ctx, time.Now().Add(-s.cfg.Retention))
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("forget old recordings", "err", err)
		case n > 0:
			s.log.Info("forgot recordings past their retention", "count", n)
		}
		select {
		case <-time.After(sweepEvery):
		case <-ctx.Done():
			return
		}
	}
}

// observer makes a nil Observer a no-op.
type observer struct{ o Observer }

func (o observer) opened() {
	if o.o != nil {
		o.o.RecordingOpened()
	}
}
func (o observer) closed() {
	if o.o != nil {
		o.o.RecordingClosed()
	}
}
func (o observer) stored(n int) {
	if o.o != nil {
		o.o.RecordingStored(n)
	}
}
func (o observer) refused(r string) {
	if o.o != nil {
		o.o.RecordingRefused(r)
	}
}
func (o observer) stopped() {
	if o.o != nil {
		o.o.RecordingStopped()
	}
}
