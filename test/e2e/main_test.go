// Package e2e_test runs trafficctl's commands end to end, through cli.Run as main does, against
// the real test API server and Prometheus. It is its own package so the per-package checks stay
// fast and a command's end-to-end test never blocks another package's unit tests.
package e2e_test

import (
	"testing"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
