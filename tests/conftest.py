"""Test-wide settings: no network, a private HF home and looc-hub cache.

huggingface_hub reads HF_ENDPOINT / HF_HUB_OFFLINE at import time, so these are set before anything imports it.
The private folders hold a copy of the embedded datasets (about 0.6 GB): they are removed when the session ends,
so that repeated runs do not fill the disk.
"""

import os
import shutil
import tempfile

_PRIVATE_DIRS: list[str] = []


def _private_dir(variable: str, prefix: str) -> None:
    """Point `variable` at a fresh temporary folder unless the caller already chose one."""
    if variable not in os.environ:
        os.environ[variable] = tempfile.mkdtemp(prefix=prefix)
        _PRIVATE_DIRS.append(os.environ[variable])


_private_dir("HF_HOME", "looc-hub-hf-home-")
_private_dir("LOOC_HUB_CACHE", "looc-hub-cache-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

pytest_plugins = ["tests.fixtures_data", "tests.hub_server"]


def pytest_unconfigure(config) -> None:
    for folder in _PRIVATE_DIRS:
        shutil.rmtree(folder, ignore_errors=True)
