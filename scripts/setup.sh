#!/usr/bin/env bash
# Create .venv (if missing) and install looc-hub with its demo (OpenMoji) and test extras. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[demo,dev]"
