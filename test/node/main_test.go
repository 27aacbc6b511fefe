// Package node holds the integration tests that need a real node: pods from the images
// `make images` builds, running on the kubelet of internal/localk8s (see testenv.RequireNode).
// It is the only package whose tests start a node, so the other packages stay fast.
package node

import (
	"testing"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.WithNode()) }
