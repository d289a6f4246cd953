"""Text from clients, made safe to compare with or store in any supported database."""

from __future__ import annotations


def storable(text: str) -> bool:
    """Whether every database can hold ``text``: no NUL (PostgreSQL), no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` without control characters or lone surrogates (for a user agent shown later)."""
    return "".join(c for c in text if c.isprintable())  # surrogates are not printable
