# `make test` is README's test command and what .ci/run calls: it installs
# everything the tests need (Python packages and Debian's Chromium for the
# browser tests) and runs the whole suite.
PYTHON ?= python3

.PHONY: test install-test imports app lint

test: install-test imports
	$(PYTHON) -m pytest

# The architecture's contracts (pyproject.toml [tool.importlinter]): pages -> ui -> engine -> datasets, the engine
# without Streamlit, no cycles among the engine's packages. No cache: nothing is written into the tree.
imports:
	$(PYTHON) -c "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"

install-test:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	$(PYTHON) -m pip install -q -r requirements-dev.txt

app:
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m streamlit run app.py

lint:
	$(PYTHON) -m ruff check .
