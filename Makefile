# Shortcuts. The two commands that matter are scripts/run and scripts/test (see README.md).
.PHONY: run test check services-start services-stop services-status lock bench fuzz-api faults

run:  ## Set everything up and run the whole stack with the demo
	scripts/run

test:  ## Set everything up and run ruff, mypy and the whole test suite
	scripts/test

check:  ## Lint and type-check only
	scripts/bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

services-start:  ## Start the development MongoDB and Redis only
	scripts/bootstrap
	.venv/bin/python scripts/services.py start

services-stop:
	.venv/bin/python scripts/services.py stop

services-status:
	.venv/bin/python scripts/services.py status

lock:  ## Re-pin constraints.txt from a fresh resolution of pyproject.toml
	rm -rf .var/lock-venv && python3.11 -m venv .var/lock-venv
	.var/lock-venv/bin/pip install --quiet -e '.[dev]' # resolves pyproject's ranges
	{ echo "# Exact versions every machine installs (scripts/bootstrap: pip install -c constraints.txt -e '.[dev]')."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  .var/lock-venv/bin/pip freeze --exclude-editable | sort -f; } > constraints.txt
	rm -rf .var/lock-venv

fuzz-api:  ## Property-based fuzz of the whole API from its OpenAPI schema (schemathesis)
	scripts/bootstrap
	scripts/with-test-services .venv/bin/python scripts/fuzz_api.py --examples 40

bench:  ## Every benchmark against its own MongoDB/Redis; one table with targets (docs/performance.md)
	scripts/bootstrap
	scripts/with-test-services .venv/bin/python -m benchmarks.run_all

faults:  ## The fault-injection suite (tests/faults/) against its own MongoDB/Redis
	scripts/bootstrap
	scripts/with-test-services .venv/bin/python -m pytest tests/faults -m faults -q -p no:cacheprovider
