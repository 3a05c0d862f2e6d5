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

# The lowest torch / torchvision that pyproject.toml declares, in a second environment (.venv-oldest, about 7 GB:
# PyPI's CUDA builds of both, a matching pair that runs on the CPU), on a subset of the suite that exercises torch
# (the network, the Hub format, exports, the objective, the views, pretraining, embeddings, evaluation); run before
# each release (CONTRIBUTING.md), CI runs the newest. Torch and torchvision must be builds of one index: a CPU-only
# torch beside PyPI's torchvision fails at import ("operator torchvision::nms does not exist").
OLDEST_TORCH ?= 2.9.1
OLDEST_TORCHVISION ?= 0.24.1
OLDEST_VENV ?= .venv-oldest
OLDEST_TESTS ?= tests/test_model.py tests/test_hub_format.py tests/test_export.py tests/test_objective_*.py \
	tests/test_views_*.py tests/test_step_precision.py tests/test_pretrain.py tests/test_embeddings_search.py \
	tests/test_embeddings_writer.py tests/test_eval_protocols.py tests/test_knn.py tests/test_first_steps.py \
	tests/test_checkpoints.py tests/test_eval_logistic.py tests/test_declared_dependencies.py

test-oldest:
	test -x $(OLDEST_VENV)/bin/python || python3 -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet -e ".[dev]" "torch==$(OLDEST_TORCH)" "torchvision==$(OLDEST_TORCHVISION)"
	$(OLDEST_VENV)/bin/python -c "import torch, torchvision, timm; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
	OMP_NUM_THREADS=1 $(OLDEST_VENV)/bin/python -m pytest -q $(OLDEST_TESTS)
