"""The usage examples in the docstrings of the data modules and of the kNN classifier run as written."""

from __future__ import annotations

import doctest

import pytest

from looc_hub.data import canvas, embedded, load, loader, sampler
from looc_hub.eval import knn


@pytest.mark.parametrize("module", [canvas, embedded, load, loader, sampler, knn], ids=lambda module: module.__name__)
def test_docstring_examples(module):
    results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0 and results.failed == 0
