# Herald — run `make` or `make help` for the list of targets.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV := uv

.DEFAULT_GOAL := help

## Getting started
help: ## Show this list
	@awk 'BEGIN {FS = ":.*## "} /^## / {printf "\n\033[1m%s\033[0m\n", substr($$0, 4)} /^[a-z0-9-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## Install everything the stack and tests need (uv, Python deps, Kafka jars, Postgres, prometheus+promtool+helm built with Go into ~/.cache/herald-tools or $$HERALD_TOOLS_DIR)
	@bash deploy/local/bootstrap.sh

## The local stack (no Docker: real Kafka 4 from Maven Central, Postgres, SMTP and webhook sinks)
up: install ## Start the whole stack in the background and print where each part listens (several instances: uv run herald-dev up --scale router=2)
	@$(UV) run herald-dev up

down: ## Stop the whole stack (data kept)
	@$(UV) run herald-dev down

status: ## Show what runs where
	@$(UV) run herald-dev status

demo: ## Send an event through ingest → router → webhook sender and show the webhook
	@$(UV) run herald-dev demo

reset: ## Stop the stack and delete all local data under var/
	@$(UV) run herald-dev reset --yes

topics: ## Create or update the topics of deploy/topics.yaml on the local broker
	@$(UV) run herald-dev topics

## Quality
test: install ## Run every test: unit, contract and integration (starts its own broker and database)
	@$(UV) run pytest

test-unit: ## Run the fast tests only (no broker, no database)
	@$(UV) run pytest tests/unit tests/contract -q

chaos-short: install ## The CI subset of the chaos scenarios (part of `make test`, ~4 min): the ledger's table at the end
	@$(UV) run pytest tests/chaos -p no:randomly -rs

chaos: install ## Every chaos scenario on the whole stack as processes, longer load (~34 min): the ledger's table at the end
	@HERALD_CHAOS=full $(UV) run pytest tests/chaos -p no:randomly -rs --timeout 900

cluster-short: install ## The CI form of the three-broker ledger run (part of `make test`, ~3 min): 2 000 events, a broker SIGKILLed
	@$(UV) run pytest tests/cluster -p no:randomly -rs

cluster: install ## Three brokers, prod topic profile: 20 000 events per run, a broker SIGKILLed, then the events' leader stopped (~20 min)
	@HERALD_CLUSTER=full $(UV) run pytest tests/cluster -p no:randomly -rs --timeout 1800

smoke-compose: install ## Run every container of docker-compose.yml as a local process against a local broker and Postgres; an event must become a webhook (~1 min)
	@$(UV) run pytest tests/integration/test_compose_smoke.py -p no:randomly -s

smoke-helm: install ## Run every Job and Deployment container `helm template` renders as a local process against a local broker and Postgres; an event must become a webhook (~1 min)
	@$(UV) run pytest tests/integration/test_helm_smoke.py -p no:randomly -s

lint: ## ruff lint and format check
	@$(UV) run ruff check .
	@$(UV) run ruff format --check .

format: ## Apply ruff's fixes and formatting
	@$(UV) run ruff check --fix .
	@$(UV) run ruff format .

typecheck: ## Strict mypy on every library and service
	@$(UV) run mypy libs/*/src services/*/src

schemas: ## Regenerate schemas/ (JSON Schemas of every record, asyncapi.yaml) from the models
	@$(UV) run python -m herald_core.schemas generate

schemas-check: ## Fail if schemas/ (JSON Schemas, asyncapi.yaml) drifted from the models
	@$(UV) run python -m herald_core.schemas check

dashboards: ## Regenerate deploy/grafana/dashboards/ (Herald's Grafana dashboards) from herald_devstack.dashboards, and the chart's copy
	@$(UV) run herald-dev dashboards
	@$(UV) run herald-dev helm-files

dashboards-check: ## Fail if deploy/grafana/dashboards/ drifted from the generator (herald_devstack.dashboards)
	@$(UV) run herald-dev dashboards --check

helm-files: ## Regenerate the Helm chart's generated files (its dashboards, files/topics.json from deploy/topics.yaml)
	@$(UV) run herald-dev helm-files

helm-check: ## helm lint + template of deploy/helm/herald for its three value sets, every manifest validated, env names checked
	@$(UV) run herald-dev helm-files --check
	@$(UV) run pytest tests/contract/test_helm_chart.py -q -p no:randomly

bench: install ## Every benchmark with its baseline and ratio, JSON and PNG plots in var/bench/latest (~40 min; progress on stderr)
	@$(UV) run python bench/all.py

bench-quick: install ## `make bench` with each benchmark in its quick form (~15 min)
	@$(UV) run python bench/all.py --quick

bench-micro: install ## Intake, routing and the in-process pipeline against their baselines (~2 min)
	@$(UV) run python bench/run.py

bench-router: install ## Router vs raw aiokafka (fan-out 1, 10, 100), config view at 100k and 1M notifiers (~5 min)
	@$(UV) run python bench/router.py

profile-router: install ## Profile the router under bench-router's throughput load with py-spy (collapsed stacks in var/profiles/router.raw; docs/performance.md)
	@mkdir -p var/profiles
	@$(UV) run py-spy record --format raw -o var/profiles/router.raw --rate 250 --nonblocking -- python bench/router.py --only throughput --quick
	@$(UV) run python bench/profile_summary.py var/profiles/router.raw --under herald_router

bench-sender: install ## Sender vs a raw aiohttp loop (webhook, 20 ms and 0 ms receiver), one hanging endpoint of 100 (B6), e-mail vs raw aiosmtplib (~5 min)
	@$(UV) run python bench/sender.py

bench-alerter: install ## Alerter points/s with 10 000 active rules vs a raw consumer of the same points (~2 min)
	@$(UV) run python bench/alerter.py

bench-e2e: install ## Whole local stack, open loop at 100 and 500 events/s over 20 webhook endpoints: latency p50/p90/p99 and where it goes (~3 min)
	@$(UV) run python bench/e2e.py

bench-ingest: install ## Ingest POST /v1/events (acks=all) vs a bare aiohttp handler producing the same records (~2 min)
	@$(UV) run python bench/ingest.py

bench-footprint: install ## Every service's idle RSS on the whole local stack (~1.5 min)
	@$(UV) run python bench/footprint.py

bench-alertmanager: install ## The whole stack vs Prometheus Alertmanager v0.35.0 on a burst of 5 000 (builds Alertmanager once into the tools folder; ~5 min)
	@$(UV) run python bench/alertmanager.py

clean: ## Remove caches and build output (keeps var/ and the Kafka jars)
	@rm -rf .mypy_cache .ruff_cache .pytest_cache
	@find . -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: help install up down status demo reset topics test test-unit chaos chaos-short cluster cluster-short lint format typecheck schemas schemas-check dashboards dashboards-check helm-files helm-check smoke-compose smoke-helm bench bench-quick bench-micro bench-router profile-router bench-sender bench-alerter bench-e2e bench-ingest bench-footprint bench-alertmanager clean
