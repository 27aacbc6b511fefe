# trafficctl build, lint and test entry points. `make help` lists them.
SHELL := /usr/bin/env bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X github.com/trafficctl/trafficctl/internal/version.Version=$(VERSION) \
	-X github.com/trafficctl/trafficctl/internal/version.GitCommit=$(COMMIT) \
	-X github.com/trafficctl/trafficctl/internal/version.BuildDate=$(DATE)
STATICCHECK_VERSION := v0.8.2
# Timing-sensitive load tests run on their own, after the API-server suites (2-core machines).
TIMING_PKGS := ./pkg/load/...
# The real node's pods (test/node) run on their own too: a dozen containers starting would load
# the machine under the other suites' timing-sensitive tests.
NODE_PKGS := ./test/node
TEST_FLAGS ?= -count=1 -timeout 40m

.PHONY: help build test test-short lint bench fuzz testbins fetch-crds generate image images clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build bin/trafficctl
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/trafficctl ./cmd/trafficctl

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

test: lint testbins ## lint, then every test including integration (real API server, Prometheus, Chromium)
	$(GO) test $(TEST_FLAGS) $$($(GO) list ./... | grep -v -E '/pkg/load(/|$$)|/test/node$$')
	$(GO) test $(TEST_FLAGS) -p 1 $(TIMING_PKGS)
	$(GO) test $(TEST_FLAGS) $(NODE_PKGS)

test-short: ## unit tests only (-short skips everything that needs a real part)
	$(GO) test -short -count=1 ./...

bench: ## benchmarks (see README for the side-by-side comparisons in scripts/)
	$(GO) test -run '^$$' -bench . -benchmem ./...

FUZZTIME ?= 60s
fuzz: ## run every Fuzz* target for FUZZTIME each (default 60s), with a short -fuzzminimizetime
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

testbins: ## build etcd, kube-apiserver and the node binaries (kubelet & co.) for the integration tests (cached in ~/.cache/trafficctl)
	$(GO) run ./internal/localk8s/testenvctl bins

fetch-crds: ## download the upstream CRDs at pinned versions (needs network)
	scripts/fetch-crds.sh

generate: ## regenerate committed generated files (protobuf Go code, dashboards, emojivoto profiles); a test checks they are current
	$(GO) run ./internal/tools/generate/cmd/generate

images: ## build OCI image tarballs without Docker (trafficctl, demo app emoji/voting/web v1+v2) into dist/images
	$(GO) run -ldflags "$(LDFLAGS)" ./internal/localk8s/testenvctl images dist/images

IMAGE ?= ghcr.io/trafficctl/trafficctl:$(VERSION)
image: ## build the container image (canary controller and load jobs); needs a Docker engine
	@command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "make image needs a running Docker engine"; exit 1; }
	docker build -f deploy/trafficctl/Dockerfile -t $(IMAGE) --build-arg VERSION=$(VERSION) .

clean: ## remove build output
	rm -rf bin dist

.PHONY: demo
demo: ## try it without a cluster: sandbox, profiles, load, canaries, balancing, one HTML report (scripts/demo.sh)
	scripts/demo.sh
