"""The themes' notices: a proposal accepted, rejected, merged, or with the supports it needs.

``core.defaults.notices`` registers ``NOTICES`` with the notification catalog.
"""

from __future__ import annotations

from typing import Any

from core.events import ThemeAccepted, ThemeMerged, ThemeRejected, ThresholdReached, event_type
from core.i18n import N_, _
from core.members.notices import operators
from core.notifications.catalog import Kind, Rendered


async def _proposer(event: Any) -> list[int]:
    return [event.proposer_id] if event.proposer_id is not None else []


async def _proposer_and_operators(event: ThresholdReached) -> list[int]:
    return list(dict.fromkeys([*await _proposer(event), *await operators(event.country)]))


def _accepted(e: ThemeAccepted) -> Rendered:
    return Rendered(
        _("Your proposal “%(title)s” is on the ballot") % {"title": e.title},
        _(
            "An operator accepted your proposal “%(title)s” for the %(edition)s edition. "
            "Shareholders will vote on it at the general meeting."
        )
        % {"title": e.title, "edition": e.edition},
        f"/themes/{e.theme_id}",
    )


def _rejected(e: ThemeRejected) -> Rendered:
    return Rendered(
        _("Your proposal “%(title)s” was not accepted") % {"title": e.title},
        _(
            "An operator did not accept your proposal “%(title)s” for the %(edition)s edition. "
            "The reason: %(reason)s"
        )
        % {"title": e.title, "edition": e.edition, "reason": e.reason},
        f"/themes/{e.theme_id}",
    )


def _merged(e: ThemeMerged) -> Rendered:
    return Rendered(
        _("Your proposal “%(title)s” was merged into another theme") % {"title": e.title},
        _(
            "An operator merged your proposal “%(title)s” into a theme that covers the same "
            "ground; its supporters now support that theme."
        )
        % {"title": e.title},
        f"/themes/{e.into_theme_id}",
    )


def _threshold(e: ThresholdReached) -> Rendered:
    return Rendered(
        _("“%(title)s” has the supports it needs") % {"title": e.title},
        _(
            "The proposal “%(title)s” reached %(supports)d supports (%(threshold)d needed) and "
            "now waits for the operators' decision."
        )
        % {"title": e.title, "supports": e.supports, "threshold": e.threshold},
        f"/themes/{e.theme_id}",
    )


def _theme_key(e: Any) -> str:
    return f"{event_type(e)}:{e.theme_id}"


NOTICES: tuple[Kind, ...] = (
    Kind(ThemeAccepted, N_("My proposal is accepted"), True, _proposer, _accepted, _theme_key),
    Kind(ThemeRejected, N_("My proposal is rejected"), True, _proposer, _rejected, _theme_key),
    Kind(ThemeMerged, N_("My proposal is merged"), True, _proposer, _merged, _theme_key),
    Kind(
        ThresholdReached,
        N_("A proposal has the supports it needs (mine, or one I moderate)"),
        True,
        _proposer_and_operators,
        _threshold,
        _theme_key,
    ),
)
