// Package deploy_test proves the manifests in deploy/ are what they claim: every kustomization
// builds (with kustomize's own library, pinned in go.mod), every object is accepted by a real
// kube-apiserver with the upstream CRDs and strict field validation, and the security policy
// holds (ports covered, nothing as root, images pinned). The tests live beside the manifests so
// that `go test ./deploy/` is the one command that checks them, and so one API server serves
// the emojivoto and linkerd checks alike.
package deploy_test

import (
	"testing"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
