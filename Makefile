# The README's two commands are `make demo` and `make test`; everything else is a step of theirs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The venv is rebuilt only when a dependency list changes.
DEPS_HASH := $(shell cat requirements-dev.txt spaces/pyproject.toml operator/pyproject.toml \
	forecaster/pyproject.toml trainer-image/pyproject.toml hack/localcluster/pyproject.toml | sha256sum | cut -c1-12)
VENV_STAMP := $(VENV)/.deps-$(DEPS_HASH)
CLUSTER_DIR := .localcluster
CLUSTER_NODES ?= 2
CLUSTER_GPUS ?= 8
PYTEST_ARGS ?=

.PHONY: help venv testbin test unit integration lint demo cluster-up cluster-down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(VENV_STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip>=25,<27'
	$(PY) -m pip install --quiet -r requirements-dev.txt \
		-e spaces -e 'operator[train]' -e forecaster -e trainer-image -e hack/localcluster
	@rm -f $(VENV)/.deps-*; touch $@

venv: $(VENV_STAMP) ## create .venv with every package (editable) and the dev tools

testbin: ## build etcd, kube-apiserver, kube-scheduler, kubectl, kwok, helm into the cache; link .testbin
	hack/testbin/build.sh

lint: venv ## ruff over the whole repository, hadolint over the Dockerfiles
	$(VENV)/bin/ruff check .
	$(VENV)/bin/hadolint Dockerfile trainer-image/Dockerfile

test: venv testbin lint ## set everything up and run the whole test suite (unit + integration)
	$(PY) -m pytest $(PYTEST_ARGS)

unit: venv ## unit tests only (no control plane)
	$(PY) -m pytest -m 'not integration' $(PYTEST_ARGS)

integration: venv testbin ## integration tests only (one local control plane for the run)
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

cluster-up: venv testbin ## start the local control plane in the background; kubeconfig at .localcluster/kubeconfig
	$(PY) -m cenas_localcluster --state-dir $(CLUSTER_DIR) up --bin-dir .testbin \
		--nodes $(CLUSTER_NODES) --gpus-per-node $(CLUSTER_GPUS)

cluster-down: venv ## stop exactly the processes cluster-up started and remove the state
	$(PY) -m cenas_localcluster --state-dir $(CLUSTER_DIR) down

demo: cluster-up ## run the main job on the local cluster
	@$(PY) -m cenas_localcluster --state-dir $(CLUSTER_DIR) demo

clean: cluster-down ## remove the venv and local state (the binary cache stays)
	rm -rf $(VENV) .testbin .pytest_cache .ruff_cache
