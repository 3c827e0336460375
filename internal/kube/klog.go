package kube

import (
	"context"
	"log/slog"
	"sync"

	"k8s.io/klog/v2"
)

var klogOnce sync.Once

// quietClientLog sends client-go's own log (klog) to the server's logger,
// at Debug: client-go reports a stream the server ended on purpose (a
// session's end) as an error, which is no news to an operator. klog is
// process-wide, so the first backend opened sets it.
func quietClientLog(log *slog.Logger) {
	klogOnce.Do(func() {
		klog.SetSlogLogger(slog.New(debugOnly{log.Handler().WithAttrs([]slog.Attr{slog.String("component", "client-go")})}))
	})
}

// debugOnly logs client-go's info and error records at Debug, and none
// of its verbose ones (klog's V levels arrive below Info: request bodies).
type debugOnly struct{ slog.Handler }

func (h debugOnly) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelInfo && h.Handler.Enabled(ctx, slog.LevelDebug)
}

func (h debugOnly) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return h.Handler.Handle(ctx, r)
}

func (h debugOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return debugOnly{h.Handler.WithAttrs(attrs)}
}

func (h debugOnly) WithGroup(name string) slog.Handler { return debugOnly{h.Handler.WithGroup(name)} }
