package server

import (
	"context"
	"errors"
	"io"

	"iexbox/internal/admission"
	"iexbox/internal/recording"
	"iexbox/internal/session"
)

var _ session.Recorder = (*recording.Recording)(nil)

// recorders adapts the recording service to what admission and the
// server ask of it.
type recorders struct{ svc *recording.Service }

var (
	_ admission.Recorders = recorders{}
	_ Recordings          = recorders{}
)

func (r recorders) Begin(ctx context.Context, addr string, cols, rows int) (session.Recorder, string) {
	rec, err := r.svc.Begin(ctx, addr, cols, rows)
	switch {
	case errors.Is(err, recording.ErrStorageFull):
		return nil, "storage"
	case err != nil:
		return nil, "error"
	}
	return rec, ""
}

func (r recorders) Refused(reason string) { r.svc.Refused(reason) }

func (r recorders) WriteCast(ctx context.Context, id string, w io.Writer) error {
	return r.svc.WriteCast(ctx, id, w)
}

func (r recorders) Delete(ctx context.Context, id, token string) error {
	return r.svc.Delete(ctx, id, token)
}

func (r recorders) NotFound(err error) bool { return errors.Is(err, recording.ErrNotFound) }
