"""Reading a JSON file that a user, a download or a damaged disk may have handed us.

`json.loads` fails in ways that name nothing: a deeply nested file raises RecursionError, a number of more than
4,300 digits a bare ValueError that advises `sys.set_int_max_str_digits`. Every looc-hub file (config.json,
embeddings.json, results files, a run's records) is read here, so each failure is a ValueError naming the file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["read_json"]


def read_json(path: str | os.PathLike, label: str | None = None) -> Any:
    """The decoded content of `path` (UTF-8 JSON); any unreadable content is a ValueError starting with `label`
    (default: the path). Missing files raise FileNotFoundError as usual."""
    label = str(path) if label is None else label
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"{label} is not UTF-8 text: {error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{label} is not valid JSON: {error}") from None
    except RecursionError:
        raise ValueError(
            f"{label} nests JSON lists or objects too deeply to be read (a looc-hub file is a few levels deep)"
        ) from None
    except ValueError:  # Python's limit on int-from-text conversion
        raise ValueError(
            f"{label} holds a number of more than {sys.get_int_max_str_digits()} digits, which is not read "
            "(no looc-hub file has one)"
        ) from None
