package cli

import (
	"testing"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

// TestMain lets command tests run against the real test API server (testenv.Require).
func TestMain(m *testing.M) { testenv.Main(m) }
