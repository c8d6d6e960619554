# The two commands: `make run` runs the product, `make test` passes the tests.
# Both install what a fresh machine lacks (the Apache Kafka broker's jars, a JDK, build
# tools, PostgreSQL),
# are re-runnable, and leave no process behind.

SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run test check ci bench down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## run fleetlog (embedded: everything in one process) with a small simulated fleet
	@scripts/run.sh

test: ## set up the stack and run every test against the real broker and PostgreSQL
	@scripts/test.sh

bench: ## the hot-path benchmarks (release build, a fresh broker for each)
	@scripts/bench.sh

check: ## formatting and lints, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

ci: check test ## what .ci/run does

down: ## stop a broker or fleetlog left running by an interrupted `make run`
	@source scripts/lib.sh && stop_pidfile .data/simulate.pid && stop_pidfile .data/fleetlog.pid && stop_broker .data/broker

clean: down ## stop everything and delete local data (.data/)
	rm -rf .data
