"""The core's notification channel: the in-app centre, in every country."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from core import hookimpl

if TYPE_CHECKING:
    from core.notifications import Notifier


@hookimpl(trylast=True)
def register_notifiers() -> Sequence[Notifier]:
    from core.notifications.inapp import InAppNotifier

    return [InAppNotifier()]
