# The two commands a newcomer needs: `make demo` (the main job on the local cluster) and
# `make test` (every test layer). Both install what they need first.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
CLUSTER := .venv/bin/python tools/local_cluster/local_cluster.py
AWX := .venv/bin/python tools/local_awx/local_awx.py
# Outside the checkout: ansible-test skips every file below a hidden directory such as .cache.
# A fresh directory per run, so runs never share one.
SANITY_DIR := $(shell mktemp -d -u -p $(or $(TMPDIR),/tmp) progressive-delivery-sanity.XXXXXX)
SANITY_COLLECTIONS := $(SANITY_DIR)/ansible_collections
SANITY_ROOT := $(SANITY_COLLECTIONS)/terragonlabs/progressive_delivery

.PHONY: demo benchmark benchmark-peers test bootstrap cluster-up cluster-down cluster-status awx-up awx-down awx-status awx-test sanity lint unit integration

demo: bootstrap cluster-up
	ansible-playbook -i inventories/local playbooks/demo.yml

# What a release costs, each figure next to its baseline: a table, and .cache/benchmark.json (benchmarks/run.py).
benchmark: bootstrap cluster-up
	python benchmarks/run.py

# The same releases with Argo Rollouts and Flagger as local controllers, side by side with ours: a table of
# ratios, and .cache/benchmark-peers.json (benchmarks/peers.py; builds the peers once, benchmarks/build-peers.sh).
# PEERS_ARGS passes options, e.g. PEERS_ARGS="--runs 1 --workloads good".
benchmark-peers: bootstrap cluster-up
	nice -n 10 bash benchmarks/build-peers.sh >/dev/null
	python benchmarks/peers.py $(PEERS_ARGS)

test: bootstrap cluster-up sanity lint unit integration

bootstrap:
	@bash tools/bootstrap.sh

cluster-up: bootstrap
	@$(CLUSTER) up

cluster-down:
	@$(CLUSTER) down

cluster-status:
	@$(CLUSTER) status

# A local AWX that runs jobs in podman (tools/local_awx): installed once, then started in about a minute.
awx-up: bootstrap
	@$(AWX) up

awx-down:
	@$(AWX) down

awx-status:
	@$(AWX) status

# ansible-test needs the collection under ansible_collections/<namespace>/<name>; copy what git
# tracks (plus uncommitted edits) there rather than asking for a particular checkout path.
sanity: bootstrap
	@mkdir -p $(SANITY_ROOT)
	@git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- ./ $(SANITY_ROOT)/
	@# The import test loads kubernetes.core's module_utils from beside the collection.
	@rsync -a --delete $(CURDIR)/.venv/lib/python3.11/site-packages/ansible_collections/kubernetes/ $(SANITY_COLLECTIONS)/kubernetes/
	cd $(SANITY_ROOT) && ansible-test sanity --venv --python 3.11 --color no
	@rm -rf $(SANITY_DIR)

lint: bootstrap
	ansible-lint --profile production
	@# Module, plugin and role docs as docs.ansible.com renders them (antsibull-docs lays the collection
	@# out under ansible_collections/ in a temp directory itself).
	antsibull-docs lint-collection-docs --plugin-docs .
	antsibull-changelog lint
	@# A release's changelog must build: release and generate in a throwaway copy, leaving the checkout alone.
	copy=$$(mktemp -d); trap 'rm -rf "$$copy"' EXIT; \
	  git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- ./ "$$copy/"; \
	  cd "$$copy" && antsibull-changelog release --version "$$(sed -n 's/^version: //p' galaxy.yml)" && antsibull-changelog generate

unit: bootstrap
	pytest tests/unit

# Three workers: most of a test's time is spent waiting on the cluster, not on the two cores. The live
# AWX tests run beside them as a pytest of their own, one after another: they share the AWX a test run
# keeps to itself, and pytest-xdist 3.8 under pytest 9 would spread them over the workers (it does not
# keep an xdist_group on one). Their output follows the others', from AWX_TEST_LOG.
AWX_TEST_LOG := .cache/awx-test.log
integration: cluster-up
	mkdir -p .cache
	pytest tests/integration -m awx -p no:cacheprovider --durations=10 > $(AWX_TEST_LOG) 2>&1 & awx_tests=$$!; \
	trap 'kill $$awx_tests 2>/dev/null || true' INT TERM; \
	status=0; pytest tests/integration -n 3 --durations=30 -m "not awx" || status=$$?; \
	awx_status=0; wait $$awx_tests || awx_status=$$?; \
	echo "== the live AWX tests (exit $$awx_status) =="; cat $(AWX_TEST_LOG); \
	exit $$(( status != 0 ? status : awx_status ))

# The live AWX tests alone (tools/local_awx, which installs and starts it); about 6.5 minutes.
awx-test: cluster-up
	pytest tests/integration -m awx --durations=30
