package session

import (
	"fmt"

	"iexbox/internal/sandbox"
)

// Recorder keeps a session's recording. The pump hands it output,
// applyResizes sizes, a check its outcome; finish closes it however the
// session ends. Its methods are safe for concurrent use.
type Recorder interface {
	ID() string
	// DeleteToken is told to the presenter only.
	DeleteToken() string
	// Output records output; it reports true once, when the recording
	// reached its byte bound and stopped.
	Output(p []byte) (stopped bool)
	Resize(cols, rows int)
	Mark(label string)
	// Close stores the rest and marks the recording complete. Idempotent.
	Close()
}

// recordingEvent tells a client the session is recorded; the presenter
// also learns the delete token. nil when it is not.
func (s *Session) recordingEvent(presenter bool) *Event {
	r := s.opts.Recorder
	if r == nil {
		return nil
	}
	e := Event{Kind: Recording, RecordingID: r.ID()}
	if presenter {
		e.DeleteToken = r.DeleteToken()
	}
	return &e
}

// greetRecording queues, right after ready, what the presenter must know
// of the recording: that it runs (or stopped), or why it was refused.
func (s *Session) greetRecording(a *attachment) {
	s.mu.Lock()
	stopped := s.recStopped
	s.mu.Unlock()
	if e := s.recordingEvent(true); e != nil {
		a.events <- *e
		if stopped {
			a.events <- Event{Kind: RecordingStopped, Reason: "size"}
		}
	} else if s.opts.RecordRefused != "" {
		a.events <- Event{Kind: RecordingRefused, Reason: s.opts.RecordRefused}
	}
}

// recordOutput records p; at the byte bound it tells the presenter and
// the viewers that recording stopped. Called by the pump only.
func (s *Session) recordOutput(p []byte) {
	if s.opts.Recorder == nil || !s.opts.Recorder.Output(p) {
		return
	}
	e := Event{Kind: RecordingStopped, Reason: "size"}
	s.mu.Lock()
	s.recStopped = true
	s.fanout(frame{event: &e})
	a := s.cur
	s.mu.Unlock()
	if a != nil {
		select {
		case a.events <- e:
		case <-a.ctx.Done():
		}
	}
}

// markCheck records a check's outcome as a marker.
func (s *Session) markCheck(res sandbox.CheckResult) {
	if s.opts.Recorder == nil {
		return
	}
	passed := 0
	for _, t := range res.Tests {
		if t.Status == sandbox.CheckPass {
			passed++
		}
	}
	label := "check"
	if s.opts.Exercise != "" {
		label += " " + s.opts.Exercise
	}
	if res.Status == sandbox.CheckError {
		s.opts.Recorder.Mark(label + ": error")
		return
	}
	s.opts.Recorder.Mark(fmt.Sprintf("%s: %d/%d passed", label, passed, len(res.Tests)))
}
