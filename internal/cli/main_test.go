package cli

import (
	"testing"

	"github.com/trafficctl/trafficctl/internal/testenv"
)

// TestMain stops the package's test API server (started by the first testenv.Require) when
// the tests end. Shared by every command's tests in this package.
func TestMain(m *testing.M) { testenv.Main(m) }
