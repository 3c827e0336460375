package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckedBound(t *testing.T) {
	c := Checked{Type: TypeChecked, Status: "fail", Message: strings.Repeat("m", 10000)}
	for range 150 {
		c.Tests = append(c.Tests, CheckedTest{Name: "t", Status: "fail",
			Message: strings.Repeat("é", 5000), Output: strings.Repeat("o", 9000)})
	}
	c.Bound()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > MaxCheckedEvent {
		t.Errorf("event is %d bytes, want at most %d", len(data), MaxCheckedEvent)
	}
	if len(c.Tests) != MaxCheckTests || !c.Truncated || len(c.Message) != MaxCheckText {
		t.Errorf("tests %d, truncated %v, message %d bytes", len(c.Tests), c.Truncated, len(c.Message))
	}
	for _, tc := range c.Tests {
		if !json.Valid([]byte(`"`+tc.Message+`"`)) || !strings.HasPrefix(tc.Message, "é") || !tc.Truncated {
			t.Fatalf("test cut badly: %q…", tc.Message[:10])
		}
	}

	small := Checked{Status: "pass", Tests: []CheckedTest{{Name: "a", Status: "pass", Output: "hi"}}}
	small.Bound()
	if small.Truncated || small.Tests[0].Output != "hi" {
		t.Errorf("a small result was changed: %+v", small)
	}
}

func TestDecodeCheck(t *testing.T) {
	m, err := DecodeClient([]byte(`{"type":"check","id":"7","code":"defmodule A do end"}`))
	if err != nil || m.Code != "defmodule A do end" || m.CheckID != "7" {
		t.Fatalf("got %+v, %v", m, err)
	}
	for _, bad := range []string{
		`{"type":"check"}`,
		`{"type":"check","code":1}`,
		`{"type":"check","code":null}`,
		`{"type":"check","code":"x","id":3}`,
		`{"type":"check","code":"` + strings.Repeat("x", MaxCheckCode+1) + `"}`,
	} {
		if _, err := DecodeClient([]byte(bad)); err == nil {
			t.Errorf("%.60s: accepted", bad)
		}
	}
	h, err := DecodeClient([]byte(`{"type":"hello","cols":80,"rows":24,"exercise":"enum/double"}`))
	if err != nil || h.Exercise != "enum/double" {
		t.Fatalf("hello: %+v, %v", h, err)
	}
	if _, err := DecodeClient([]byte(`{"type":"hello","cols":80,"rows":24,"exercise":5}`)); err == nil {
		t.Error("a numeric exercise was accepted")
	}
}
