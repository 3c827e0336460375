package admission

import (
	"testing"

	"iexbox/internal/leakcheck"
)

// TestMain fails the run when goroutines outlive the tests that started them.
func TestMain(m *testing.M) { leakcheck.Main(m) }
