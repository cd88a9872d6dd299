"""The published ballot list of a poll, as JSON (docs/voting.md) and CSV, and its recount.

Every counted ballot is listed under the hash of its voter's receipt, sorted by that hash, with
the announced winners, so that anyone can recount (``sip verify FILE``) and every voter can
find their own ballot.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec

from core.editions.tables import Edition
from core.errors import Conflict
from core.i18n import _
from core.polls.services import PUBLISHED, ballots_of, get_poll, result_of
from core.polls.tables import Poll
from core.themes.tables import ThemeText


async def _titles(theme_ids: list[int]) -> dict[int, str]:
    """Each theme's English title, else its first text (a file for everybody, in one language)."""
    rows = await ThemeText.select(ThemeText.theme, ThemeText.language, ThemeText.title).where(
        ThemeText.theme.is_in(theme_ids)
    )
    titles: dict[int, str] = {}
    for row in sorted(rows, key=lambda r: r["language"] != "en"):
        titles.setdefault(row["theme"], row["title"])
    return titles


async def export(poll_id: int) -> dict[str, Any]:
    """The published list of a poll, in the platform's export format (docs/voting.md)."""
    poll = await get_poll(poll_id)
    if poll.state != PUBLISHED:
        raise Conflict(_("The ballots are listed once the result is published."))
    row = await Poll.select(Poll.closed_at, Poll.ballots_digest).where(Poll.id == poll_id).first()
    edition = await Edition.select(Edition.slug).where(Edition.id == poll.edition_id).first()
    titles = await _titles([theme for _number, theme in poll.candidates])
    result = await result_of(poll_id)
    return {
        "poll": {
            "id": poll.id,
            "title": f"AGM {poll.country}: themes of {edition['slug']}",
            "edition": edition["slug"],
            "country": poll.country,
            "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
            "ballots_digest": row["ballots_digest"],
        },
        "method": poll.method,
        "seats": poll.seats,
        "candidates": [
            {"number": number, "title": titles.get(theme, "")} for number, theme in poll.candidates
        ],
        "ballots": [
            {"receipt_hash": b.receipt_hash, "ballot": b.ballot, "paper": b.paper}
            for b in await ballots_of(poll_id)
        ],
        "result": {"winners": result.winners},
    }


async def export_json(poll_id: int) -> bytes:
    return msgspec.json.format(msgspec.json.encode(await export(poll_id)), indent=1)


async def export_csv(poll_id: int) -> str:
    """One row per ballot: receipt_hash, ballot (JSON), paper."""
    data = await export(poll_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["receipt_hash", "ballot", "paper"])
    for entry in data["ballots"]:
        writer.writerow(
            [entry["receipt_hash"], msgspec.json.encode(entry["ballot"]).decode(), entry["paper"]]
        )
    return out.getvalue()
