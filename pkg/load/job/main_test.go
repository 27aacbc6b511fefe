package job

import (
	"testing"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

// TestMain lets the load job tests run against the real test API server (testenv.Require).
func TestMain(m *testing.M) { testenv.Main(m) }
