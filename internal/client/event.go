package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"iexbox/internal/protocol"
)

// Event is one text frame from the server. For a type this package knows,
// the field of that type holds it decoded; an event of any other type is
// kept with only Type and Raw, since the server may add events without a
// new subprotocol. A frame that is not a JSON object with a string "type",
// or a known type that does not decode, has Err set.
type Event struct {
	Type string    // the event's "type"; "" when it has none
	Raw  []byte    // the frame as received
	At   time.Time // when the reader received it
	// OutputBefore is how many output bytes arrived before this event.
	OutputBefore int64
	Err          error

	Queued  *protocol.Queued
	Ready   *protocol.Ready
	Warning *protocol.Warning
	Exit    *protocol.Exit
	Error   *protocol.Error
	Shared  *protocol.Shared
	Viewers *protocol.Viewers
	Size    *protocol.Size
	Checked *protocol.Checked
	// Recording: the session is recorded; RecordingStopped: it stopped.
	Recording        *protocol.Recording
	RecordingStopped *protocol.RecordingStopped
	// Watched: the class's teacher watches; Message: the teacher wrote.
	Watched *protocol.Watched
	Message *protocol.Message
	// TeacherConsole: the class shows the teacher's console;
	// TeacherConsoleEnded: no longer.
	TeacherConsole      *protocol.TeacherConsole
	TeacherConsoleEnded *protocol.TeacherConsoleEnded
}

// decode turns a text frame into an Event.
func decode(data []byte, at time.Time, outputBefore int64) Event {
	e := Event{Raw: data, At: at, OutputBefore: outputBefore}
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		e.Err = fmt.Errorf("event %.100q: %w", data, err)
		return e
	}
	if head.Type == nil {
		e.Err = fmt.Errorf("event %.100q has no \"type\"", data)
		return e
	}
	e.Type = *head.Type
	switch e.Type {
	case protocol.TypeQueued:
		e.Queued = as[protocol.Queued](&e)
	case protocol.TypeReady:
		e.Ready = as[protocol.Ready](&e)
	case protocol.TypeWarning:
		e.Warning = as[protocol.Warning](&e)
	case protocol.TypeExit:
		e.Exit = as[protocol.Exit](&e)
	case protocol.TypeError:
		e.Error = as[protocol.Error](&e)
	case protocol.TypeShared:
		e.Shared = as[protocol.Shared](&e)
	case protocol.TypeViewers:
		e.Viewers = as[protocol.Viewers](&e)
	case protocol.TypeSize:
		e.Size = as[protocol.Size](&e)
	case protocol.TypeRecording:
		e.Recording = as[protocol.Recording](&e)
	case protocol.TypeRecordingStopped:
		e.RecordingStopped = as[protocol.RecordingStopped](&e)
	case protocol.TypeChecked:
		e.Checked = as[protocol.Checked](&e)
	case protocol.TypeWatched:
		e.Watched = as[protocol.Watched](&e)
	case protocol.TypeMessage:
		e.Message = as[protocol.Message](&e)
	case protocol.TypeTeacherConsole:
		e.TeacherConsole = as[protocol.TeacherConsole](&e)
	case protocol.TypeTeacherConsoleEnded:
		e.TeacherConsoleEnded = as[protocol.TeacherConsoleEnded](&e)
	}
	return e
}

// as decodes e's frame as a T, or sets e.Err.
func as[T any](e *Event) *T {
	v := new(T)
	if err := json.Unmarshal(e.Raw, v); err != nil {
		e.Err = fmt.Errorf("%s event %.100q: %w", e.Type, e.Raw, err)
		return nil
	}
	return v
}

// RefusedError is what Ready returns when the server answers with an error
// event instead of ready.
type RefusedError struct {
	Event protocol.Error
}

func (e *RefusedError) Error() string {
	s := "session refused: " + e.Event.Code
	if e.Event.Message != "" {
		s += ": " + e.Event.Message
	}
	if e.Event.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %d s)", e.Event.RetryAfter)
	}
	return s
}

// IsRefused reports whether err says the server refused the session.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
