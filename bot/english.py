"""PURE: the few helpers our user-facing English needs."""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """`1 device`, `3 devices`; `nouns` for an irregular plural."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def be(n: int, *, past: bool = False) -> str:
    """The verb that agrees with `n`: is/are, was/were."""
    if past:
        return "was" if n == 1 else "were"
    return "is" if n == 1 else "are"
