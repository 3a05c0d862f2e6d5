# The project's checks, run by .ci/run and by hand: `make check` before a commit. Tools come from .venv
# (`make setup`, i.e. scripts/setup.sh); PYTHON=... runs them from another environment.
PYTHON ?= .venv/bin/python
RUFF ?= $(dir $(PYTHON))ruff

.PHONY: setup quality test check

setup:
	bash scripts/setup.sh

# Lint (the complexity limit is ruff's C901, max-complexity in pyproject.toml), formatting, generated cards.
quality:
	$(RUFF) check .
	$(RUFF) format --check .
	$(PYTHON) scripts/make_cards.py --check

# The README's test command.
test:
	$(PYTHON) -m pytest -q

check: quality test
