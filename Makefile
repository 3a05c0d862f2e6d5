# The project's checks, run by .ci/run and by hand: `make check` before a commit. Tools come from .venv
# (`make setup`, i.e. scripts/setup.sh); PYTHON=... runs them from another environment.
PYTHON ?= .venv/bin/python
RUFF ?= $(dir $(PYTHON))ruff

.PHONY: setup quality test test-slow check test-oldest

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

# The slow tests the default run leaves out (pyproject.toml's addopts): the ResNet-50 recipes end to end at 224 px
# on 2 processes, and torch.compile's agreement; 5-30 minutes on 2 cores.
test-slow:
	$(PYTHON) -m pytest -q -m slow

# The lowest torch / torchvision that pyproject.toml declares, in a second environment (.venv-oldest), on a
# representative subset (model, Hub format, pretraining, bad input); run before each release (issue 18).
OLDEST_TORCH ?= 2.13.0
OLDEST_TORCHVISION ?= 0.28.0
OLDEST_TESTS ?= tests/test_model.py tests/test_hub_format.py tests/test_run_safety.py tests/test_first_steps.py

test-oldest:
	test -x .venv-oldest/bin/python || python3 -m venv .venv-oldest
	.venv-oldest/bin/python -m pip install --quiet "torch==$(OLDEST_TORCH)" "torchvision==$(OLDEST_TORCHVISION)"
	.venv-oldest/bin/python -m pip install --quiet -e ".[dev]" "torch==$(OLDEST_TORCH)" "torchvision==$(OLDEST_TORCHVISION)"
	.venv-oldest/bin/python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
	OMP_NUM_THREADS=1 .venv-oldest/bin/python -m pytest -q $(OLDEST_TESTS)
