"""A recommendation's statuses and the board's outcomes, and how an outcome reads (the
notification catalog and the record use these without the services)."""

from __future__ import annotations

from core.i18n import N_, _

DRAFT, SUBMITTED = "draft", "submitted"
STATUS_NAMES = (N_("draft"), N_("submitted"))

ADOPTED = "adopted"
ADOPTED_WITH_CHANGES = "adopted_with_changes"
REJECTED = "rejected"
DEFERRED = "deferred"
OUTCOMES = (ADOPTED, ADOPTED_WITH_CHANGES, REJECTED, DEFERRED)
ADOPTING = (ADOPTED, ADOPTED_WITH_CHANGES)  # outcomes that can lead to a project
PENDING = "pending"  # no decision yet (not an outcome: a figure of the record)
OUTCOME_LABELS = {
    ADOPTED: N_("adopted"),
    ADOPTED_WITH_CHANGES: N_("adopted with changes"),
    REJECTED: N_("rejected"),
    DEFERRED: N_("deferred"),
    PENDING: N_("awaiting a decision"),
}


def outcome_label(outcome: str | None) -> str:
    """An outcome (or ``pending``) in the current language."""
    return _(OUTCOME_LABELS.get(outcome or PENDING, outcome or PENDING))
