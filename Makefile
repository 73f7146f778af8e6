# cardcenter: the two commands a newcomer needs are `make run` and `make test`.

GO        ?= go
BIN       := bin/cardcenter
# What `cardcenter version` prints: the release and the commit (passed in
# because Go's own VCS stamp is off where GOFLAGS has -buildvcs=false).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
PKGS      := ./...
# Scenario tests are independent (own store, own port) and mostly wait on
# fsync, so they run many at a time even on 2 cores.
PARALLEL  ?= 16
FUZZTIME  ?= 30s
export GOFLAGS ?= -mod=mod

.PHONY: all build run test test-long lint rigs bench fuzz soak clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $(BIN) ./cmd/cardcenter

# Start the host on an embedded Pebble store with the demo program, then
# drive it with the POS simulator; the host keeps running until Ctrl-C.
run: build
	$(BIN) demo --data var/demo --demo-file testdata/demo.yaml --scenario testdata/pos/demo.pos

# Every test, the device rigs included. As root it installs the system
# packages it needs; elsewhere it names what is missing and skips only
# those tests (with CI set, a missing rig fails instead).
test: lint rigs
	$(GO) test -count=1 -parallel $(PARALLEL) -timeout 14m $(PKGS)
	$(GO) test -count=1 -parallel $(PARALLEL) -timeout 5m -tags invariants ./ledger/ ./gateway/
	$(GO) test -count=1 -race -parallel $(PARALLEL) -timeout 5m ./ledger/ ./gateway/... ./terminal/ ./keys/ ./cardcrypto/ ./admin/ ./internal/metrics/ ./cmd/cardcenter/

# The long mode: 20 crash-restart cycles instead of 3.
test-long: lint rigs
	CARDCENTER_LONG=1 $(GO) test -count=1 -parallel $(PARALLEL) -timeout 60m $(PKGS)

# The soak (docs/operations.md): bin/cardcenter on one on-disk store under
# mixed load from six MACing terminals, SIGKILLed at a random instant and
# restarted SOAK_KILLS times, the checker and the journal compared with
# every acknowledged request after each kill. SOAK_SEED=N replays a
# schedule; SOAK_CYCLE_MS bounds the load before each kill.
SOAK_KILLS ?= 200
soak: build
	CARDCENTER_BIN=$(CURDIR)/$(BIN) SOAK_KILLS=$(SOAK_KILLS) $(GO) test -tags soak -count=1 -run '^TestSoak$$' -v -timeout 60m ./cmd/cardcenter/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags soak ./cmd/cardcenter/

rigs:
	@scripts/rigs.sh

# Benchmarks (not tests): the Go micro-benchmarks, then the standard load
# set, which rewrites docs/performance.md with this machine's figures
# (about 20 minutes on the 2-core machine with BENCH_DURATION=10s).
# The ledger's BenchmarkPurchase, BenchmarkPurchaseTerminals, BenchmarkPebbleFloor and
# BenchmarkHotCardsGC are left to scripts/bench.sh, which runs them at a
# fixed count for the document.
bench: build
	$(GO) test -run '^$$' -bench . -skip '^Benchmark(Purchase|PurchaseTerminals|PebbleFloor|HotCardsGC)$$' -benchmem $(PKGS)
	$(GO) test -run '^$$' -bench BenchmarkReaderCardToAnswer -benchtime 50x ./cmd/cardcenter/
	scripts/bench.sh

# Run every fuzz target for FUZZTIME each (Go runs one target at a time).
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin var
