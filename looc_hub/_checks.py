"""Type checks of user-given numbers. `True` is an int to Python, never a count, a size or a rate here."""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = ["check_int", "is_int", "is_number", "short_repr", "short_text"]


class _ShortRepr(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 200:  # repr() of an int past 4,300 digits raises (Python's int-to-str limit)
            return f"<an integer of about {int(x.bit_length() * 0.30103)} digits>"
        return super().repr_int(x, level)


_SHORT = _ShortRepr()  # keyword arguments only from Python 3.12
_SHORT.maxstring = _SHORT.maxother = 120
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 10


def short_repr(value: Any) -> str:
    """`repr(value)`, shortened with "..." past about 120 characters: a 60 MB string or a 10,000-digit number
    given by mistake is named, not echoed whole into an error message."""
    return _SHORT.repr(value)


def short_text(text: str, limit: int = 300) -> str:
    """`text` cut after `limit` characters (saying how long it was): a library's error message that quotes a
    huge value given by mistake is passed on without it."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters in all)"


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or a float that is not a bool (NaN and infinity included: callers that need finite check it)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """`value` if it is an int (not a bool) >= `minimum`; else a ValueError that names `name` and the value."""
    if not is_int(value) or value < minimum:
        requirement = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {requirement}, got {short_repr(value)}")
    return value
