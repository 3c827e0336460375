package session

import "fmt"

// Reason is why a session ended.
type Reason string

// Reasons a session ends. The first six are reported to the client in an
// exit event; ReasonClosed and ReasonProtocol are not exits of the sandbox
// (viewers are told ReasonClosed), and ReasonLagging and ReasonUnshared end
// viewers only.
const (
	ReasonExited      Reason = "exited"       // the program exited by itself
	ReasonIdleTimeout Reason = "idle_timeout" // no keyboard input for too long
	ReasonMaxLifetime Reason = "max_lifetime" // the session lived too long
	ReasonOOM         Reason = "oom"          // the sandbox was OOM-killed
	ReasonShutdown    Reason = "shutdown"     // the server is shutting down
	ReasonError       Reason = "error"        // the sandbox failed
	ReasonClosed      Reason = "closed"       // the client went away
	ReasonProtocol    Reason = "protocol"     // the client broke the protocol
	ReasonLagging     Reason = "lagging"      // a viewer fell too far behind
	ReasonUnshared    Reason = "unshared"     // the presenter revoked the watch link (viewers)
	ReasonClassEnded  Reason = "class_ended"  // the teacher ended the session's class, or removed its learner
)

// End is the outcome of a session.
type End struct {
	Reason Reason
	Code   *int  // the program's exit status, nil when unknown
	Err    error // what went wrong, for ReasonError and ReasonProtocol
}

func (e End) String() string {
	s := string(e.Reason)
	if e.Code != nil {
		s += fmt.Sprintf(" (code %d)", *e.Code)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}
