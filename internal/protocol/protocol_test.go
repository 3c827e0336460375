package protocol

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestDecodeClient(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ClientMessage
	}{
		{"hello", `{"type":"hello","cols":80,"rows":24}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24}},
		{"resize", `{"type":"resize","cols":132,"rows":43}`, ClientMessage{Type: TypeResize, Cols: 132, Rows: 43}},
		{"ack", `{"type":"ack","bytes":4096}`, ClientMessage{Type: TypeAck, Bytes: 4096}},
		{"ack zero", `{"type":"ack","bytes":0}`, ClientMessage{Type: TypeAck}},
		{"ack fraction truncated", `{"type":"ack","bytes":10.9}`, ClientMessage{Type: TypeAck, Bytes: 10}},
		{"ack huge clamped", `{"type":"ack","bytes":1e30}`, ClientMessage{Type: TypeAck, Bytes: math.MaxInt64}},
		{"ack 2^63 clamped", `{"type":"ack","bytes":9223372036854775808}`, ClientMessage{Type: TypeAck, Bytes: math.MaxInt64}},
		{"ack negative zero", `{"type":"ack","bytes":-0}`, ClientMessage{Type: TypeAck}},
		{"sizes at the bounds", `{"type":"resize","cols":500,"rows":200}`, ClientMessage{Type: TypeResize, Cols: 500, Rows: 200}},
		{"sizes at the lower bounds", `{"type":"resize","cols":1,"rows":1}`, ClientMessage{Type: TypeResize, Cols: 1, Rows: 1}},
		{"zero size clamped up", `{"type":"hello","cols":0,"rows":0}`, ClientMessage{Type: TypeHello, Cols: MinCols, Rows: MinRows}},
		{"huge size clamped down", `{"type":"hello","cols":9999,"rows":9999}`, ClientMessage{Type: TypeHello, Cols: MaxCols, Rows: MaxRows}},
		{"exponent clamped", `{"type":"hello","cols":1e300,"rows":-1e300}`, ClientMessage{Type: TypeHello, Cols: MaxCols, Rows: MinRows}},
		{"negative size clamped", `{"type":"resize","cols":-5,"rows":-1}`, ClientMessage{Type: TypeResize, Cols: MinCols, Rows: MinRows}},
		{"fraction truncated", `{"type":"resize","cols":80.9,"rows":24.5}`, ClientMessage{Type: TypeResize, Cols: 80, Rows: 24}},
		{"fraction under one clamped", `{"type":"resize","cols":0.5,"rows":0.99}`, ClientMessage{Type: TypeResize, Cols: 1, Rows: 1}},
		{"fraction over the bound clamped", `{"type":"resize","cols":500.5,"rows":200.1}`, ClientMessage{Type: TypeResize, Cols: 500, Rows: 200}},
		{"float form of an integer", `{"type":"hello","cols":80.0,"rows":2.4e1}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24}},
		{"unknown fields ignored", `{"type":"hello","cols":80,"rows":24,"term":"xterm","v":[1,{"x":null}]}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24}},
		{"fields of other types ignored", `{"type":"ack","bytes":7,"cols":"x","rows":true}`, ClientMessage{Type: TypeAck, Bytes: 7}},
		{"bytes ignored on hello", `{"type":"hello","cols":80,"rows":24,"bytes":"x"}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24}},
		{"field order free", `{"rows":24,"cols":80,"type":"hello"}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24}},
		{"surrounding whitespace", " \n\t{\"type\":\"ack\",\"bytes\":1}\r\n ", ClientMessage{Type: TypeAck, Bytes: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeClient([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeClient(%s): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("DecodeClient(%s) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeClientRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ``},
		{"whitespace", "  \n"},
		{"not JSON", `hello`},
		{"truncated", `{"type":"hello","cols":80`},
		{"JSON null", `null`},
		{"JSON array", `[{"type":"hello","cols":80,"rows":24}]`},
		{"JSON string", `"hello"`},
		{"JSON number", `42`},
		{"two objects", `{"type":"ack","bytes":1}{"type":"ack","bytes":1}`},
		{"two objects spaced", `{"type":"ack","bytes":1} {"type":"ack","bytes":1}`},
		{"object then number", `{"type":"ack","bytes":1} 2`},
		{"trailing bracket", `{"type":"ack","bytes":1}]`},
		{"trailing brace", `{"type":"ack","bytes":1}}`},
		{"trailing garbage", `{"type":"ack","bytes":1}x`},
		{"no type", `{"cols":80,"rows":24}`},
		{"null type", `{"type":null,"cols":80,"rows":24}`},
		{"numeric type", `{"type":1}`},
		{"empty type", `{"type":""}`},
		{"unknown type", `{"type":"input","data":"ls"}`},
		{"server type from client", `{"type":"ready"}`},
		{"type case matters", `{"type":"Hello","cols":80,"rows":24}`},
		{"hello without cols", `{"type":"hello","rows":24}`},
		{"hello without rows", `{"type":"hello","cols":80}`},
		{"hello without size", `{"type":"hello"}`},
		{"resize without rows", `{"type":"resize","cols":80}`},
		{"ack without bytes", `{"type":"ack"}`},
		{"cols as string", `{"type":"hello","cols":"80","rows":24}`},
		{"rows as string", `{"type":"resize","cols":80,"rows":"24"}`},
		{"cols as bool", `{"type":"hello","cols":true,"rows":24}`},
		{"cols null", `{"type":"hello","cols":null,"rows":24}`},
		{"rows null", `{"type":"resize","cols":80,"rows":null}`},
		{"cols array", `{"type":"hello","cols":[80],"rows":24}`},
		{"cols object", `{"type":"hello","cols":{"n":80},"rows":24}`},
		{"bytes as string", `{"type":"ack","bytes":"10"}`},
		{"bytes null", `{"type":"ack","bytes":null}`},
		{"negative ack", `{"type":"ack","bytes":-1}`},
		{"negative fractional ack", `{"type":"ack","bytes":-0.5}`},
		{"huge negative ack", `{"type":"ack","bytes":-1e30}`},
		{"number overflowing float64", `{"type":"hello","cols":1e999,"rows":24}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeClient([]byte(tt.in))
			if err == nil {
				t.Fatalf("DecodeClient(%s) = %+v, want an error", tt.in, m)
			}
			if err == nil {
				t.Errorf("DecodeClient(%s): no error", tt.in)
			}
			if m != (ClientMessage{}) {
				t.Errorf("DecodeClient(%s) returned %+v with its error, want the zero message", tt.in, m)
			}
		})
	}
}

// TestDecodeClientErrorsNameTheProblem checks the messages a client is
// shown point at what it got wrong.
func TestDecodeClientErrorsNameTheProblem(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`nope`, "text frame is not a JSON object"},
		{`{"type":"ack","bytes":1}{}`, "text frame holds more than one JSON value"},
		{`{"cols":1}`, `message has no "type"`},
		{`{"type":"bye"}`, `unknown message type "bye"`},
		{`{"type":"hello","rows":1}`, `"cols" is missing`},
		{`{"type":"hello","cols":1,"rows":"1"}`, `"rows" must be a number`},
		{`{"type":"ack","bytes":-3}`, `"bytes" must not be negative`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := DecodeClient([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("DecodeClient(%s) error = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestErrorCloseCode(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{CodeCapacity, 4002},
		{CodeProtocol, 4004},
		{CodeUnavailable, 4005},
		{CodeInternal, 1011},
		{"", 1011},
		{"something new", 1011},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := ErrorCloseCode(tt.code); got != tt.want {
				t.Errorf("ErrorCloseCode(%q) = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

// TestCloseCodesDistinct checks every outcome has its own close code, as the
// protocol's table promises.
func TestCloseCodesDistinct(t *testing.T) {
	codes := map[int]string{}
	add := func(name string, code int) {
		t.Helper()
		if prev, ok := codes[code]; ok && prev != name {
			t.Errorf("close code %d used by both %s and %s", code, prev, name)
		}
		codes[code] = name
	}
	for r, code := range map[string]int{ReasonExited: CloseExited, ReasonShutdown: CloseShutdown,
		ReasonIdleTimeout: CloseIdleTimeout, ReasonMaxLifetime: CloseMaxLifetime, ReasonOOM: CloseOOM} {
		add("exit "+r, code)
	}
	for _, c := range []string{CodeCapacity, CodeProtocol, CodeUnavailable} {
		add("error "+c, ErrorCloseCode(c))
	}
	add("too big", CloseTooBig)
	if CloseError != ErrorCloseCode(CodeInternal) {
		t.Errorf("exit error and error internal should share 1011")
	}
}

// TestServerMessagesJSON pins the field names the page and docs rely on.
func TestServerMessagesJSON(t *testing.T) {
	code := 3
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"ready", Ready{Type: TypeReady, Session: "s", Instance: "i", IdleTimeout: 300, MaxLifetime: 1800, Runtime: "runc"},
			`{"type":"ready","session":"s","instance":"i","idle_timeout":300,"max_lifetime":1800,"runtime":"runc"}`},
		{"warning", Warning{Type: TypeWarning, Reason: ReasonIdleTimeout, SecondsLeft: 30},
			`{"type":"warning","reason":"idle_timeout","seconds_left":30}`},
		{"exit with code", Exit{Type: TypeExit, Reason: ReasonExited, Code: &code},
			`{"type":"exit","reason":"exited","code":3}`},
		{"exit without code", Exit{Type: TypeExit, Reason: ReasonShutdown},
			`{"type":"exit","reason":"shutdown","code":null}`},
		{"error with retry", Error{Type: TypeError, Code: CodeCapacity, Message: "busy", RetryAfter: 5},
			`{"type":"error","code":"capacity","message":"busy","retry_after":5}`},
		{"error without retry", Error{Type: TypeError, Code: CodeProtocol, Message: "bad"},
			`{"type":"error","code":"protocol","message":"bad"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("json = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecodeHelloFields(t *testing.T) {
	tests := []struct {
		in   string
		want ClientMessage
	}{
		{`{"type":"hello","cols":80,"rows":24,"resumable":true}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24, Resumable: true}},
		{`{"type":"hello","cols":80,"rows":24,"resume":"TOK"}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24, Resume: "TOK"}},
		{`{"type":"hello","cols":80,"rows":24,"mode":"viewer","watch":"W"}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24, Mode: ModeViewer, Watch: "W"}},
		{`{"type":"hello","cols":80,"rows":24,"mode":"presenter","resumable":null}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24, Mode: ModePresenter}},
		{`{"type":"hello","cols":80,"rows":24,"toolchain":"forky/parsing"}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24, Toolchain: "forky/parsing"}},
		{`{"type":"hello","cols":80,"rows":24,"toolchain":null}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24}},
		{`{"type":"hello","cols":80,"rows":24,"toolchain":"` + strings.Repeat("t", MaxToolchainName) + `"}`, ClientMessage{Type: TypeHello, Cols: 80, Rows: 24, Toolchain: strings.Repeat("t", MaxToolchainName)}},
		{`{"type":"share"}`, ClientMessage{Type: TypeShare}},
		{`{"type":"end","why":"button"}`, ClientMessage{Type: TypeEnd}},
		{`{"type":"unshare"}`, ClientMessage{Type: TypeUnshare}},
	}
	for _, tt := range tests {
		got, err := DecodeClient([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("DecodeClient(%s) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{
		`{"type":"hello","cols":80,"rows":24,"mode":"viewer"}`,
		`{"type":"hello","cols":80,"rows":24,"mode":"admin","watch":"W"}`,
		`{"type":"hello","cols":80,"rows":24,"resumable":1}`,
		`{"type":"hello","cols":80,"rows":24,"watch":true,"mode":"viewer"}`,
		`{"type":"hello","cols":80,"rows":24,"resume":["x"]}`,
		`{"type":"hello","cols":80,"rows":24,"toolchain":7}`,
		`{"type":"hello","cols":80,"rows":24,"toolchain":"` + strings.Repeat("t", MaxToolchainName+1) + `"}`,
	} {
		if _, err := DecodeClient([]byte(in)); err == nil {
			t.Errorf("DecodeClient(%s) = %v, want a protocol error", in, err)
		}
	}
}
