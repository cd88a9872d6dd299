"""Checks on text that people type, shared by every domain."""

from __future__ import annotations

import re

# C0 controls and DEL, except tab, line feed and carriage return: never typed on purpose, and
# some (NUL, escapes) break exports, terminals or the database.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(*texts: str) -> bool:
    """True when any of ``texts`` holds a control character (each caller words the refusal)."""
    return any(_CONTROL.search(text) for text in texts)
