# Everything a newcomer needs: `make run` serves the API, `make test` proves it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Python keeps its compiled files, although some machines (this project's
# among them) turn them off: every test process, live server and command
# imports the same code, and pytest alone spent about 3 s of each process
# rewriting its plugins' asserts again. __pycache__/ is ignored by git.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast lint check-spec client bench instructions soak lock clean

# Exactly what CI tested: every dependency pinned, with its hashes, in
# requirements.lock; then the project itself, without dependencies.
$(BIN)/stores-api: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: $(BIN)/stores-api
	$(BIN)/stores-api serve --host $(HOST) --port $(PORT)

check-spec: $(BIN)/stores-api
	$(BIN)/stores-api openapi check

# The code (ruff, the import layers) and the contract (Spectral's OpenAPI
# rules, pinned in openapi/tools with the other contract tools; needs Node.js).
lint: $(BIN)/stores-api openapi/tools/node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	openapi/tools/node_modules/.bin/spectral lint openapi/swagger.yaml \
		--ruleset openapi/spectral.yaml --fail-severity warn

openapi/tools/node_modules/.package-lock.json: openapi/tools/package-lock.json
	cd openapi/tools && npm ci --no-fund --no-audit --silent

# The suite on SQLite, then on PostgreSQL when one is reachable (or installed
# and startable) all that a database can change; without PostgreSQL it says
# that suite did not run. Tests run in one process per core (pytest-xdist).
test: $(BIN)/stores-api check-spec
	$(BIN)/pytest -n auto --cov
	$(BIN)/python -m tests.postgres_suite -n auto

# The inner loop: no real servers, no browser, nothing slow by design, fewer
# examples per property, no coverage.
test-fast: $(BIN)/stores-api
	$(BIN)/pytest -n auto -m "not live and not browser and not slow" --hypothesis-profile=fast

# After changing dependencies in pyproject.toml: pin them again, with hashes.
lock:
	$(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet pip-tools
	.lock-venv/bin/pip-compile --quiet --generate-hashes --no-strip-extras --allow-unsafe \
		--extra test --extra bench --extra otel --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml
	# The image's (Dockerfile): the service's own dependencies alone, pinned as
	# above, and what an older Python 3.11 needs besides, kept from its end.
	sed -n '/^# Below Python 3.11.3/,$$p' requirements-runtime.lock > .lock-venv/older-python
	.lock-venv/bin/pip-compile --quiet --generate-hashes --no-strip-extras --allow-unsafe \
		--constraint requirements.lock --no-emit-index-url --no-emit-find-links \
		--output-file requirements-runtime.lock pyproject.toml
	cat .lock-venv/older-python >> requirements-runtime.lock
	rm -rf .lock-venv

# Throughput and latency against a Flask and a bare ASGI reference (needs wrk).
bench: $(BIN)/stores-api
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench.run

# Instructions per request, counted by callgrind in process (needs valgrind):
# repeatable to 1-2% whatever else the machine does. About 5 minutes per
# scenario; the last line, what metrics add to a request, about 2.
instructions: $(BIN)/stores-api
	@command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
	$(BIN)/python -m bench.instructions $(SCENARIOS)

# A worker's memory and start-up after 500,000 refreshes (SOAK_REFRESHES)
# against an idle worker's; fails past 10% (needs PostgreSQL).
soak: $(BIN)/stores-api
	$(BIN)/python -m bench.refresh_soak

# Both clients from the contract alone, each versioned as its info.version:
# a Python wheel and an npm package (needs Node.js), in dist/clients/.
client: $(BIN)/stores-api
	$(BIN)/python openapi/clients/build.py --output dist/clients

clean:
	rm -rf $(VENV) instance reports dist *.egg-info
