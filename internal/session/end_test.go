package session

import (
	"errors"
	"testing"
)

func TestEndString(t *testing.T) {
	tests := []struct {
		end  End
		want string
	}{
		{End{Reason: ReasonExited, Code: intp(0)}, "exited (code 0)"},
		{End{Reason: ReasonOOM, Code: intp(137)}, "oom (code 137)"},
		{End{Reason: ReasonShutdown}, "shutdown"},
		{End{Reason: ReasonProtocol, Err: errors.New("bad frame")}, "protocol: bad frame"},
		{End{Reason: ReasonError, Code: intp(1), Err: errors.New("x")}, "error (code 1): x"},
	}
	for _, tt := range tests {
		if got := tt.end.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
