package protocol

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeClient checks the decoder's invariants on arbitrary frames. Its
// seeds live in testdata/fuzz/FuzzDecodeClient.
func FuzzDecodeClient(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeClient(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message for the client")
			}
			if m != (ClientMessage{}) {
				t.Fatalf("error %v came with message %+v", err, m)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q as %+v", data, m)
		}
		switch m.Type {
		case TypeHello, TypeResize:
			if m.Cols < MinCols || m.Cols > MaxCols || m.Rows < MinRows || m.Rows > MaxRows {
				t.Fatalf("size out of bounds: %+v", m)
			}
			if m.Bytes != 0 {
				t.Fatalf("%s carries bytes: %+v", m.Type, m)
			}
		case TypeAck:
			if m.Bytes < 0 {
				t.Fatalf("negative ack: %+v", m)
			}
			if m.Cols != 0 || m.Rows != 0 {
				t.Fatalf("ack carries a size: %+v", m)
			}
		default:
			t.Fatalf("accepted unknown type: %+v", m)
		}
		// Decoding is deterministic.
		if again, err := DecodeClient(data); err != nil || again != m {
			t.Fatalf("second decode = %+v, %v; first %+v", again, err, m)
		}
	})
}
