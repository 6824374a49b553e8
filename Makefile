# maintenance-operator — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PY := $(UV) run --frozen
PYTEST_ARGS ?=

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	touch $@

.PHONY: venv
venv: .venv/.synced ## Create .venv with exactly the locked dependencies (installs uv from PyPI if missing)

.PHONY: lint
lint: venv ## ruff, mypy --strict, import contracts
	$(PY) ruff check .
	$(PY) ruff format --check .
	$(PY) mypy
	$(PY) lint-imports

.PHONY: crds
crds: venv ## Regenerate crds/*.yaml from the pydantic models
	$(PY) python -m maintenance_operator.api.crdgen crds

.PHONY: prometheus-rules
prometheus-rules: venv ## Regenerate deploy/prometheus/prometheusrule.yaml from rules.yaml
	$(PY) python -m tools.prometheusrule

.PHONY: dashboard-configmap
dashboard-configmap: venv ## Regenerate deploy/grafana/configmap.yaml from dashboard.json
	$(PY) python -m tools.dashboard_configmap

.PHONY: notice-schema
notice-schema: venv ## Regenerate docs/notice-webhook.schema.json from the webhook body's models
	$(PY) python -m tools.notice_schema

.PHONY: cluster-build
cluster-build: venv ## Build the local Kubernetes binaries from Go modules into ~/.cache (first time ~15 min)
	$(PY) python -m tests.cluster build

.PHONY: cluster-up
cluster-up: cluster-build ## Start the persistent dev cluster (prints how to use it with kubectl)
	$(PY) python -m tests.cluster up

.PHONY: cluster-down
cluster-down: venv ## Stop and delete the dev cluster
	$(PY) python -m tests.cluster down

.PHONY: cluster-kubeconfig
cluster-kubeconfig: venv ## Print the dev cluster's kubeconfig path
	@$(PY) python -m tests.cluster kubeconfig

.PHONY: prometheus
prometheus: ## Install prometheus and promtool from Debian's package when missing (the tests' real Prometheus)
	@bash tests/cluster/install-prometheus.sh

.PHONY: image
image: venv ## Build the operator image with buildah (no daemon) into an oci-archive in ~/.cache (reused while unchanged)
	$(PY) python -m tests.cluster.image build

.PHONY: kind-up
kind-up: venv ## With Docker: a kind cluster from kind-config.yaml, snapshot CRDs and controller, the image, deploy/
	$(PY) python -m tests.cluster.kind up

.PHONY: kind-down
kind-down: venv ## Delete the kind cluster of kind-up
	$(PY) python -m tests.cluster.kind down

.PHONY: kind-validate
kind-validate: venv ## Check kind-config.yaml with kind's own loader and validation (no Docker needed)
	$(PY) python -m tests.cluster.kind validate

.PHONY: run
run: venv cluster-build ## Run the operator on a local cluster with the samples and demo workloads (Ctrl-C stops all)
	$(PY) python -m demo

.PHONY: bench
bench: venv cluster-build ## Benchmarks on a local cluster (prints figures; BENCH_ARGS="--only idle" to pick)
	$(PY) python -m benchmarks $(BENCH_ARGS)

.PHONY: test-unit
test-unit: venv prometheus ## Unit tests only (no cluster, no image; promtool checks the alert rules)
	$(PY) pytest -m "not integration and not image" $(PYTEST_ARGS)

.PHONY: test
test: lint cluster-build prometheus ## Linters and the whole test suite, integration tests on a real local control plane
	$(PY) pytest -m "not integration" $(PYTEST_ARGS)
	$(PY) pytest -m integration --durations=25 $(PYTEST_ARGS)  # the slowest, for the CI time budget
