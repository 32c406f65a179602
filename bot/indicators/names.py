"""Rules for names that are not validated by DNS syntax alone."""

from __future__ import annotations

import unicodedata


def glued_symbol(c: str) -> bool:
    """A pictograph that is part of a name (`☺.damowmow.com`, `✪df.ws`): what the scanner reads
    is then only the tail of the name, which is a different name, so it reports none."""
    return c > "\x7f" and unicodedata.category(c) == "So"
