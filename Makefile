# The only entry point for humans and CI. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

CARGO        ?= cargo
RUN_DIR      := .run
CLUSTER_DIR  := $(RUN_DIR)/cluster
# cargo's output folder (CARGO_TARGET_DIR when set).
TARGET_DIR   := $(or $(CARGO_TARGET_DIR),target)
DEVCLUSTER   := $(TARGET_DIR)/debug/devcluster
# `make image` writes the unpacked image (rootfs/) and its OCI archive here.
IMAGE_DIR    := $(TARGET_DIR)/image
IMAGE_REF    := localhost/rockoon:dev
DEV_VALUES   := deploy/dev/values.yaml
KUBECONFIG_DEV := $(abspath $(CLUSTER_DIR))/kubeconfig
SAMPLE_OSDPL := tests/fixtures/osdpl/compute.yaml
# The dev cluster's components (kube-apiserver, kubectl, helm, ...), built once and cached.
COMPONENTS    = $(shell tests/cluster/build.sh --print)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: components
components: ## Build the dev cluster's components at their pinned versions (cached outside the repo)
	@tests/cluster/build.sh >/dev/null

.PHONY: prometheus-ui
prometheus-ui: ## Build Prometheus' web UI once per version (npm registry); `devcluster up --prometheus` (make run) runs it and goes on without the UI if it fails
	@tests/cluster/prometheus-ui.sh

.PHONY: build
build: ## Build the five binaries and the devcluster tool (debug)
	$(CARGO) build --bins

.PHONY: release
release: ## Build the five binaries optimised (target/release)
	$(CARGO) build --release --bins -p rockoon-osdpl -p rockoon-secrets -p rockoon-health -p rockoon-node -p rockoon-ceph-exchange

.PHONY: image
image: components release ## The suite's image from the release binaries, pulling nothing (OCI archive in target/image)
	@tests/cluster/image.sh $(TARGET_DIR)/release $(IMAGE_DIR) $(IMAGE_REF) >/dev/null
	@echo "image $(IMAGE_REF): $(IMAGE_DIR)/rockoon.oci.tar ($$(du -h $(IMAGE_DIR)/rockoon.oci.tar | cut -f1)), unpacked $$(du -sh $(IMAGE_DIR)/rootfs | cut -f1)"

.PHONY: crds
crds: ## Regenerate deploy/crds/ from the Rust types
	$(CARGO) run -q -p rockoon-core --bin crdgen -- deploy/crds

.PHONY: check-generated
check-generated: crds ## Fail when deploy/crds/ differs from the Rust types
	@git diff --exit-code -- deploy/crds || { echo "deploy/crds is out of date: run 'make crds' and commit"; exit 1; }

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt --all

.PHONY: fmt-check
fmt-check: ## Check formatting
	$(CARGO) fmt --all -- --check

.PHONY: lint
lint: ## Clippy on every target, warnings are errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: test
test: components fmt-check lint build ## Everything CI runs: format, lint, unit, golden and dev-cluster tests
	$(CARGO) test --workspace --no-fail-fast
	@$(MAKE) check-generated

.PHONY: test-unit
test-unit: ## Only the tests that need no cluster
	$(CARGO) test --workspace --lib --bins
	$(CARGO) test -p rockoon-core --tests

.PHONY: test-cluster
test-cluster: components build ## Only the dev-cluster integration tests
	$(CARGO) test -p rockoon-tests --test cluster

.PHONY: conformance
conformance: build ## Conformance check of OSDPL=<file> on `make run`'s cluster (own namespace); ARGS=--manifests-only: no cluster
	@test -n "$(OSDPL)" || { echo "usage: make conformance OSDPL=<file> [ARGS='--manifests-only' | '--delete' | ...]"; exit 2; }
	@target/debug/conformance --kubeconfig $(KUBECONFIG_DEV) --osdpl $(OSDPL) $(ARGS)

.PHONY: cluster-up
cluster-up: components build ## Start the dev cluster in the background (.run/cluster)
	@$(MAKE) cluster-down >/dev/null
	@mkdir -p $(RUN_DIR)
	@rm -f $(CLUSTER_DIR)/state.json  # so `wait` cannot read the previous run's state
	@setsid nohup $(DEVCLUSTER) --dir $(CLUSTER_DIR) up $(DEVCLUSTER_ARGS) > $(RUN_DIR)/devcluster.log 2>&1 < /dev/null &
	@$(DEVCLUSTER) --dir $(CLUSTER_DIR) wait || { tail -n 30 $(RUN_DIR)/devcluster.log; exit 1; }
	@echo "export KUBECONFIG=$(KUBECONFIG_DEV)"

.PHONY: cluster-down
cluster-down: ## Stop the dev cluster and everything `make run` started
	@if [ -x $(DEVCLUSTER) ]; then $(DEVCLUSTER) --dir $(CLUSTER_DIR) down; fi

.PHONY: cluster-status
cluster-status: ## Show the dev cluster's processes, API health and nodes
	@$(DEVCLUSTER) --dir $(CLUSTER_DIR) status

.PHONY: run
run: components build image ## Main job: dev cluster with a real node and Prometheus, the suite's pod by `helm install`, the sample compute OSDPL
	@$(MAKE) cluster-up DEVCLUSTER_ARGS="--real-node --prometheus"
	@$(DEVCLUSTER) --dir $(CLUSTER_DIR) install-suite --image $(IMAGE_DIR)/rockoon.oci.tar --values $(DEV_VALUES)
	@KUBECONFIG=$(KUBECONFIG_DEV) $(COMPONENTS)/kubectl apply --server-side -f $(SAMPLE_OSDPL)
	@$(DEVCLUSTER) --dir $(CLUSTER_DIR) wait-applied --namespace openstack --name osh-dev
	@echo
	@KUBECONFIG=$(KUBECONFIG_DEV) $(COMPONENTS)/kubectl get osdpl,osdplst -n openstack
	@echo
	@KUBECONFIG=$(KUBECONFIG_DEV) $(COMPONENTS)/kubectl get pods -n osh-system -o wide
	@echo
	@$(DEVCLUSTER) --dir $(CLUSTER_DIR) targets --expect 5
	@echo
	@echo "kubeconfig: $(KUBECONFIG_DEV)"
	@echo "kubectl:    $(COMPONENTS)/kubectl"
	@echo "targets:    $(DEVCLUSTER) --dir $(CLUSTER_DIR) targets (the targets page's URL is printed above)"
	@echo "logs:       $(COMPONENTS)/kubectl logs -n osh-system deploy/rockoon -c <osdpl|secrets|health|node|ceph-exchange>"
	@echo "stop with:  make cluster-down"

.PHONY: run-local
run-local: components build ## Fast development: dev cluster (kwok nodes only) + CRDs + the five binaries as host processes + the sample compute OSDPL
	@$(MAKE) cluster-up DEVCLUSTER_ARGS="--controllers $(abspath $(TARGET_DIR)/debug)"
	@KUBECONFIG=$(KUBECONFIG_DEV) $(COMPONENTS)/kubectl apply --server-side -f $(SAMPLE_OSDPL)
	@$(DEVCLUSTER) --dir $(CLUSTER_DIR) wait-applied --namespace openstack --name osh-dev
	@echo
	@KUBECONFIG=$(KUBECONFIG_DEV) $(COMPONENTS)/kubectl get osdpl,osdplst -n openstack
	@echo
	@echo "kubeconfig: $(KUBECONFIG_DEV)"
	@echo "kubectl:    $(COMPONENTS)/kubectl"
	@echo "logs:       $(abspath $(CLUSTER_DIR))/logs/ (osdpl.log, secrets.log, health.log, node.log, ceph-exchange.log, and the control plane's)"
	@echo "stop with:  make cluster-down"

.PHONY: bench
bench: components release build ## Benchmarks: render (criterion), binary sizes, start-up, idle RSS, osdpl apply and no-op reconcile, health at scale, leader failover
	$(CARGO) bench -p rockoon-core --bench render
	$(CARGO) run -q -p rockoon-tests --bin bench-startup -- --target-dir target/release
	$(CARGO) run -q -p rockoon-tests --bin bench-apply -- --target-dir target/release
	$(CARGO) run -q -p rockoon-tests --bin bench-health -- --target-dir target/release
	$(CARGO) test -q -p rockoon-tests --test cluster leader::failover -- --ignored --nocapture

.PHONY: doc
doc: ## API docs of the workspace
	$(CARGO) doc --workspace --no-deps

.PHONY: clean-run
clean-run: cluster-down ## Remove run folders (.run, target/debug/test-cluster)
	rm -rf $(RUN_DIR) target/debug/test-cluster
