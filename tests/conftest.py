"""Test-wide settings: no network, a private HF home, a bounded thread count.

huggingface_hub reads HF_ENDPOINT / HF_HUB_OFFLINE at import time, so these are set before anything imports it.
"""

import os
import tempfile

os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="looc-hub-hf-home-"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("LOOC_HUB_CACHE", tempfile.mkdtemp(prefix="looc-hub-cache-"))

pytest_plugins = ["tests.fixtures_data", "tests.hub_server"]
