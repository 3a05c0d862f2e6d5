"""Type checks of user-given numbers. `True` is an int to Python, never a count, a size or a rate here."""

from __future__ import annotations

from typing import Any

__all__ = ["check_int", "is_int", "is_number"]


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
        raise ValueError(f"{name} must be {requirement}, got {value!r}")
    return value
