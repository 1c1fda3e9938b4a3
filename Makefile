# casebot developer targets; .ci/run runs the same checks in CI.
GO        ?= go
BENCHTIME ?= 1s
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test lint bench ci clean

all: lint test build

## build: the casebot binary, with the version stamped in
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/casebot ./cmd/casebot

## test: every test, with the race detector
test:
	$(GO) test -race -count=1 ./...

## lint: gofmt and go vet
lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: every benchmark, then one table of figures and ratios against the
## baselines measured in the same run (bench.out keeps the raw output).
## make bench BENCHTIME=1x for a smoke run.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) -timeout=60m ./... > bench.out; \
	status=$$?; cat bench.out; [ $$status -eq 0 ] || exit $$status
	$(GO) run ./tools/benchtable < bench.out

## ci: exactly what CI runs
ci:
	./.ci/run

clean:
	rm -rf bin
