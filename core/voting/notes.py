"""Tie notes (``TieNote``) in the reader's language, candidates by their names, numbers as
counts ("1 vote", "2,5 votes"): never the count sheet's "1.00000"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from core.formats import count
from core.i18n import _, ngettext
from core.voting.base import CandidateId, Figure, TieNote


def _figure(value: Figure | None) -> tuple[str, float]:
    number = Decimal(str(value if value is not None else 0))
    return count(number, digits=5), float(number)


def _score(score: str, value: Figure | None) -> str:
    text, number = _figure(value)
    plural = number != 1
    if score == "approvals":
        return ngettext("%(num)s approval", "%(num)s approvals", 2 if plural else 1) % {"num": text}
    if score == "points":
        return ngettext("%(num)s point", "%(num)s points", 2 if plural else 1) % {"num": text}
    return ngettext("%(num)s vote", "%(num)s votes", 2 if plural else 1) % {"num": text}


def _listed(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return _("%(first)s and %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}


def tie_note_text(note: TieNote, name: Callable[[CandidateId], str] | Mapping[int, str]) -> str:
    """One tie note as a sentence; ``name`` gives a candidate's name (a theme's title)."""

    def names(ids: list[CandidateId]) -> str:
        if callable(name):
            return _listed([name(c) for c in ids])
        return _listed([name.get(int(c), str(c)) for c in ids])

    if note.kind == "boundary":
        return _(
            "%(tied)s tie with %(score)s; by the order of the ballot, %(chosen)s elected and "
            "%(left_out)s not."
        ) % {
            "tied": names(note.tied),
            "score": _score(note.score, note.figure),
            "chosen": (_("%(names)s is") if len(note.chosen) == 1 else _("%(names)s are"))
            % {"names": names(note.chosen)},
            "left_out": names(note.left_out),
        }
    if note.kind == "unbeaten":
        return _(
            "Seat %(seat)d: %(tied)s are unbeaten among the remaining themes; by the order of "
            "the ballot, %(chosen)s takes it."
        ) % {"seat": note.seat or 0, "tied": names(note.tied), "chosen": names(note.chosen)}
    values = {
        "stage": note.stage or 0,
        "tied": names(note.tied),
        "votes": _score("votes", note.figure),
        "chosen": names(note.chosen),
        "earlier": note.decided_at or 0,
    }
    if note.decided_at is not None:
        if note.action == "excluded":
            text = _(
                "Stage %(stage)d: %(tied)s tie on %(votes)s; %(chosen)s had fewer at the end "
                "of stage %(earlier)d and is excluded."
            )
        else:
            text = _(
                "Stage %(stage)d: %(tied)s tie on %(votes)s; %(chosen)s had more at the end "
                "of stage %(earlier)d and has its surplus transferred first."
            )
    elif note.action == "excluded":
        text = (
            _(
                "Stage %(stage)d: %(tied)s tie on %(votes)s at every stage; by the order of "
                "the ballot, %(chosen)s is excluded."
            )
            if note.every_stage
            else _(
                "Stage %(stage)d: %(tied)s tie on %(votes)s; by the order of the ballot, "
                "%(chosen)s is excluded."
            )
        )
    else:
        text = (
            _(
                "Stage %(stage)d: %(tied)s tie on %(votes)s at every stage; by the order of "
                "the ballot, %(chosen)s has its surplus transferred first."
            )
            if note.every_stage
            else _(
                "Stage %(stage)d: %(tied)s tie on %(votes)s; by the order of the ballot, "
                "%(chosen)s has its surplus transferred first."
            )
        )
    return text % values
