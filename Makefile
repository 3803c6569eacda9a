# Sharaka: two commands do all the set-up on a fresh machine.
#   make run    the platform: Kafka, PostgreSQL, a mail catcher and the four services
#   make test   the whole suite (lint, types, contracts, unit, integration, end to end)

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .local/tools
UV := $(TOOLS)/bin/uv
RUN := $(UV) run --frozen

.PHONY: openapi events-wheel bench-notifications bench-plans bench-consultation deploy-check run test lint typecheck schemas schemas-check bench token up down status clean distclean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@

## run: start everything locally (first run fetches the Kafka jars); Ctrl-C stops it all
run: .venv/.synced
	$(RUN) python -m devstack run

## test: the whole suite, starting the Kafka, PostgreSQL and SMTP servers it needs
test: .venv/.synced lint typecheck schemas-check deploy-check
	$(RUN) pytest

lint: .venv/.synced
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: .venv/.synced
	$(RUN) mypy shared services devstack bench examples

## deploy-check: offline validation of the Dockerfile, compose file and Kubernetes manifests
deploy-check:
	bash deploy/validate.sh

## schemas: re-export the event JSON Schemas (refuses breaking changes to published ones)
schemas: .venv/.synced
	$(RUN) python -m shared.events.schemas export

schemas-check: .venv/.synced
	$(RUN) python -m shared.events.schemas check
	$(RUN) python -m shared.openapi check

## openapi: re-export the services' OpenAPI documents (docs/openapi/); `make test` fails while they differ from the code
openapi: .venv/.synced
	$(RUN) python -m shared.openapi export

## bench: end-to-end throughput and latency next to raw aiokafka
bench: .venv/.synced
	$(RUN) python -m bench.e2e

## bench-loop: one PlanSubmitted round the whole loop (irm, consultation, notifications by e-mail), each consumer's drain, next to raw aiokafka
.PHONY: bench-loop
bench-loop: .venv/.synced
	$(RUN) python -m bench.loop

## bench-plans: the plan page and search under load, and the import of 5,000 commitments
bench-plans: .venv/.synced
	$(RUN) python -m bench.tools wrk
	$(RUN) python -m bench.plans_read
	$(RUN) python -m bench.plans_import

## bench-consultation: comments end to end (HTTP, commit, Kafka) and a 10,000-comment round page by page
bench-consultation: .venv/.synced
	$(RUN) python -m bench.tools wrk
	$(RUN) python -m bench.consultation_comments
	$(RUN) python -m bench.consultation_list

## bench-notifications: one event to 10,000 followers by e-mail, 2,000 by SMS, 10,000 digests, next to aiosmtplib and httpx alone
bench-notifications: .venv/.synced
	$(RUN) python -m bench.notifications_fanout

## events-wheel: the event contracts as a wheel for subscribing systems (packages/sharaka-events/dist/)
events-wheel: $(UV)
	UV=$(UV) bash packages/sharaka-events/build.sh

## token: a local staff token (ROLE=government MEMBER=<uuid> for a point of contact)
token: .venv/.synced
	@$(RUN) python -m shared.auth mint --role $${ROLE:-staff} $${MEMBER:+--member $$MEMBER}

up: .venv/.synced
	$(RUN) python -m devstack up --database sharaka_plans --database sharaka_consultation \
		--database sharaka_irm --database sharaka_notifications
down: .venv/.synced
	$(RUN) python -m devstack down
status: .venv/.synced
	$(RUN) python -m devstack status
## clean: stop and delete local data (keeps downloaded jars)
clean: .venv/.synced
	$(RUN) python -m devstack clean
distclean: down
	rm -rf .local .venv
