# Run `make help` for the list of targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
EMBEDDED := TEST_DATABASE_URL=sqlite+aiosqlite:///./var/test.db TEST_REDIS_URL= TEST_SMTP_HOST=

.DEFAULT_GOAL := help
.PHONY: help install run worker migrate migration test test-embedded lint format openapi check-openapi check-clients check-migrations check-deploy fuzz mutate bench drills routes clean compose-check

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

# The lock, not pyproject.toml: editing contracts or settings there needs no reinstall.
$(STAMP): poetry.lock scripts/lock_requirements.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PYTHON) scripts/lock_requirements.py > $(VENV)/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r $(VENV)/requirements.txt
	@touch $@

ifneq ($(wildcard $(VENV)/.lock-sha256),)
# A virtualenv built into an image (the compose dev image): it must match poetry.lock.
install:
	@sha256sum --check --status $(VENV)/.lock-sha256 \
		|| { echo "poetry.lock changed since the image was built: run docker compose build" >&2; exit 1; }
else
install: $(STAMP) ## Create .venv with the exact versions in poetry.lock
endif

run: install ## Migrate and serve the API on http://127.0.0.1:8000 (HOST=, PORT= to change; embedded backends by default)
	$(BIN)/python -m app serve --host $(HOST) --port $(PORT)

worker: install ## Run queue workers (needs REDIS_URL)
	$(BIN)/python -m app worker

routes: install ## List the API routes
	@$(BIN)/python -m app routes

migrate: install ## Apply pending migrations
	$(BIN)/python -m app migrate

migration: install ## Autogenerate a migration: make migration m="add comments"
	@test -n "$(m)" || (echo 'usage: make migration m="what changed"' && exit 2)
	$(BIN)/alembic upgrade head
	$(BIN)/alembic revision --autogenerate -m "$(m)"

test: install ## Run the suite on PostgreSQL and Redis (addresses in .test.env), with coverage (90% for the whole suite)
	@rm -f .coverage .coverage.*
	$(BIN)/coverage run -m pytest $(ARGS)
	@$(BIN)/coverage combine --quiet
	$(BIN)/coverage report $(if $(ARGS),--fail-under=0)

test-embedded: install ## Run the suite on SQLite and the in-process backends
	@mkdir -p var && rm -f var/test.db var/test.db-wal var/test.db-shm
	$(EMBEDDED) $(BIN)/pytest -m "not slow" $(ARGS)

lint: install ## ruff, formatting, mypy (strict) and import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Fix what ruff can fix, format the code, then list what is left to fix by hand
	$(BIN)/ruff check --fix-only --exit-zero .
	$(BIN)/ruff format .
	$(BIN)/ruff check .

openapi: install ## Write openapi.json from the code (commit it; CI fails when it is out of date)
	$(BIN)/python -m app openapi

check-openapi: install ## Fail when the committed openapi.json differs from the code's
	$(BIN)/python -m app openapi --check

check-clients: install ## Generate a TypeScript and a Python client from openapi.json, type-check them, drive the API with both (needs Node.js)
	$(BIN)/python -m scripts.check_clients

check-migrations: install ## Fail when the models and the migrations disagree (alembic check)
	$(BIN)/alembic upgrade head
	$(BIN)/alembic check

fuzz: install ## Fuzz the running API with Schemathesis (real mode, every check, 100 examples per operation)
	$(BIN)/python -m scripts.fuzz $(ARGS)

mutate: install ## Mutation testing of the security-critical modules, score per module against 90% (ARGS=modules)
	$(BIN)/python -m scripts.mutate $(ARGS)

bench: install ## Benchmark the kit against a minimal baseline (PostgreSQL, Redis; wrk if installed)
	$(BIN)/python -m bench.run

drills: install ## Load and fault drills: 500 connections, PostgreSQL restart, Redis stop, API killed with tasks in the outbox, silent PostgreSQL and Redis, worker kill, PgBouncer (ARGS=names)
	$(BIN)/python -m bench.drills $(ARGS)

check-deploy: install ## Lint the Dockerfile (hadolint); validate the compose files, the CI workflow and Dependabot's config
	$(BIN)/hadolint --failure-threshold info Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yaml docker-compose.prod.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/ci.yml .github/workflows/mutation.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

clean: ## Remove the virtualenv, caches and local databases
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .coverage htmlcov

compose-check: ## Build and check the Docker workflow end to end (dev and production stacks; needs Docker)
	./scripts/compose-check.sh
