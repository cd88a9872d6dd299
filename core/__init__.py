"""The Smart in Progress platform.

Plugins import the hook marker from here: ``from core import hookimpl``.
"""

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "sip"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = ["hookimpl", "hookspec", "PROJECT_NAME", "__version__"]
