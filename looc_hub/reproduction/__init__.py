"""Reproducing the zoo's CPU entries: the grid of runs behind docs/reproduction.md and the check of a model
against its card's numbers (`looc-reproduce`). `scripts/reproduce.py` builds its report on these."""
