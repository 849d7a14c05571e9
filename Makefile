# stampkit — every task a developer or CI runs. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

FUNCTIONS := $(notdir $(wildcard functions/*))
# As shared/runtimetest.BuildFlags (the e2e tests and `make bench` build with
# that; a test checks the two agree). -gcflags: no github.com/aws module is
# inlined, which keeps every bootstrap under SIZE_LIMIT (runtimetest.SDKNoInline
# says why, and what was measured).
GO_BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w" -gcflags "github.com/aws/...=-l"
# GOARM64 of the arm64 bootstraps, as runtimetest.GOARM64 (which says why; a
# test checks the two agree).
LAMBDA_GOARM64 := v8.0,lse
HOST_ARCH := $(shell go env GOARCH)
APP_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FLEET ?= web
STAMP ?= main
REGION ?= us-east-1
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# jsii picks its Node before any test code runs: point it at the supported
# Node that `make deps` pins (infra/package.json) when it is there.
PINNED_NODE := $(CURDIR)/infra/node_modules/.bin/node
ifneq ($(wildcard $(PINNED_NODE)),)
export JSII_NODE := $(PINNED_NODE)
endif
CDK := npx --prefix infra --no-install cdk

.PHONY: help build cli size app test test-short test-e2e chaos compare lint docs synth demo report-check bench bench-stamps clean deps image image-check

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

deps: ## Install Go modules and the pinned aws-cdk CLI (infra/package-lock.json)
	go mod download
	npm ci --prefix infra --no-audit --no-fund

build: app ## Build every function as bin/arm64/<fn>/bootstrap (Lambda) and bin/$(HOST_ARCH)/<fn>/bootstrap (local runtime tests)
	@for fn in $(FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 GOARM64=$(LAMBDA_GOARM64) go build $(GO_BUILD_FLAGS) -o bin/arm64/$$fn/bootstrap ./functions/$$fn; \
	  [ "$(HOST_ARCH)" = arm64 ] || CGO_ENABLED=0 GOOS=linux GOARCH=$(HOST_ARCH) go build $(GO_BUILD_FLAGS) -o bin/$(HOST_ARCH)/$$fn/bootstrap ./functions/$$fn; \
	done
	@ls -l bin/*/*/bootstrap | awk '{printf "  %-36s %6.2f MB\n", $$9, $$5/1e6}'

cli: ## Build the command line as bin/stampkit; `bin/stampkit version` prints the tag it was built from (git describe)
	go build -trimpath -ldflags "-X main.version=$(APP_VERSION)" -o bin/stampkit ./cmd/stampkit

# Lambda bootstrap budget, bytes: 10 MB read strictly as 10,000,000 (issue
# #3), arm64, GO_BUILD_FLAGS.
SIZE_LIMIT ?= 10000000

size: ## Build the arm64 bootstraps and fail naming any over its budget (SIZE_LIMIT bytes)
	@for fn in $(FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 GOARM64=$(LAMBDA_GOARM64) go build $(GO_BUILD_FLAGS) -o bin/arm64/$$fn/bootstrap ./functions/$$fn; \
	done
	@over=0; for fn in $(FUNCTIONS); do \
	  size=$$(wc -c < bin/arm64/$$fn/bootstrap); \
	  awk -v f=$$fn -v s=$$size -v l=$(SIZE_LIMIT) 'BEGIN { printf "  %-10s %7.3f MB  limit %7.3f MB\n", f, s/1e6, l/1e6 }'; \
	  if [ "$$size" -gt "$(SIZE_LIMIT)" ]; then \
	    awk -v f=$$fn -v s=$$size -v l=$(SIZE_LIMIT) 'BEGIN { printf "size: %s bootstrap is %.3f MB (%d bytes), over the %.3f MB limit\n", f, s/1e6, s, l/1e6 }' >&2; \
	    over=1; \
	  fi; \
	done; exit $$over

app: ## Build the app the fleet runs (images/app) for the image bake: bin/arm64/app/stampkit-app
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -ldflags "-s -w -X main.version=$(APP_VERSION)" -o bin/arm64/app/stampkit-app ./images/app

test: build ## Unit, fuzz-seed, emulator, infra and runtime tests (needs moto and cfn-lint)
	go test -count=1 -timeout 25m ./...

test-short: ## Unit tests only: no emulator, no CDK synth
	go test -short ./...

# -p 2: both packages' emulators run at once, as under `go test ./...`; each
# runtime emulator takes free ports of its own (runtimetest.Start).
test-e2e: ## Every bootstrap under the Lambda runtime interface emulator, against moto (both packages at once)
	STAMPKIT_REQUIRE_EMULATOR=1 go test -count=1 -p 2 -v ./e2e ./shared/runtimetest

# The fault sweep (e2e/sweep) in full: every fault kind on every AWS call of
# every scenario, where `make test` takes the first call of each distinct
# operation. No test timeout: it runs for most of an hour on 2 cores.
chaos: ## The complete fault sweep: every fault on every AWS call of each scenario; table in out/sweep.md
	@mkdir -p out
	@status=0; STAMPKIT_REQUIRE_EMULATOR=1 STAMPKIT_SWEEP=full go test -count=1 -timeout 0 -run TestSweep ./e2e/sweep \
	  -args -sweep.out=$(CURDIR)/out/sweep.md || status=$$?; \
	  cat out/sweep.md 2>/dev/null; exit $$status

lint: ## gofmt, go vet, staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go tool staticcheck ./...

# The doc table first: the schema and the reference read the doc comments from it.
docs: ## Regenerate docs/iam.md (IAM tables, from the synthesized template), docs/cdk.schema.json and docs/config.md (from the configuration's types)
	go test -count=1 ./infra/stampconfig -run '^TestDocTable$$' -update
	go test -count=1 ./infra/stampconfig -run '^(TestSchemaFile|TestReferenceFile)$$' -update
	go test -count=1 ./infra/stamp -run '^TestIAMDoc$$' -update

synth: build ## Synthesize the CDK app into infra/cdk.out (no credentials needed)
	$(CDK) synth --quiet -c appVersion=$(APP_VERSION)

image: app ## Bake an AMI with Packer + Ansible (needs AWS credentials): make image STAMP=main FLEET=web REGION=us-east-1
	packer build -var app_version=$(APP_VERSION) -var stamp=$(STAMP) -var fleet=$(FLEET) -var region=$(REGION) -var app_binary=bin/arm64/app/stampkit-app images/packer

image-check: ## Offline checks of the bake: packer validate, ansible syntax and lint, the rendered systemd unit
	images/check.sh

# The evaluation split of the NASA trace (testdata/traces/README.md):
# minutes from 48960 (1995-08-04), never used to tune a default.
NASA := testdata/traces/nasa-http-1995-per-minute.csv.gz
compare: ## Cost-matched comparison of every policy on the evaluation weeks of the NASA trace -> out/compare/*/compare.html
	go run ./cmd/stampkit compare -trace $(NASA) -from 48960 -minutes 20160 -seeds 3 -out out/compare/nasa-aug-04
	go run ./cmd/stampkit compare -trace $(NASA) -from 69120 -seeds 3 -out out/compare/nasa-aug-18

# -X main.version: the report names the commit it was made from (go run
# stamps no VCS information).
demo: ## Run the local twin on the embedded trace and write out/report.html
	go run -ldflags "-X main.version=$(APP_VERSION)" ./cmd/stampkit demo -out out

# Debian's chromium (apt-get install chromium); .ci/run installs it and the
# browser tests run in `make test` too. Screenshots: out/report-check/.
report-check: ## The report in headless Chromium: no console errors, no labels that meet, screenshots not blank -> out/report-check/*.png
	STAMPKIT_REQUIRE_BROWSER=1 STAMPKIT_SCREENSHOTS=$(CURDIR)/out/report-check go test -count=1 -v -run '^(TestErrorsAndInk|TestReportInBrowser)$$' ./shared/browsertest ./shared/twin/report

bench: build ## Sizes, cold start vs hello-world under RIE, warm p50/p99, RSS -> bench/results.txt; in-process benchmarks -> bench/latest.txt
	go run ./bench/runtime -out bench/results.txt
	go test -run '^$$' -bench . -benchmem ./shared/... | tee bench/latest.txt

bench-stamps: ## Synthesize 3 stamps × 40 fleets and 1 stamp × 100: synth time, resources per stack, largest IAM policy -> bench/stamps.txt
	go test -count=1 -timeout 30m -run '^TestStampsAtScale$$' ./infra/stamp -args -stamps.out=$(CURDIR)/bench/stamps.txt

clean: ## Remove build output
	rm -rf bin cdk.out out
