"""The published ballot list of a poll, as JSON (docs/voting.md) and CSV.

What a counted poll publishes, so that anyone can recount (``sip verify FILE``): the candidates
with their titles frozen at opening, the trackers of the ballot box as it stood at closing
(sorted), the clear ballots in the shuffled order of the count, and the counts that tie them
together (trackers = participations = clear ballots), under the digest the poll announced.
No tracker is ever paired with a choice: a receipt proves that a ballot is in the box, never
what it says.
"""

from __future__ import annotations

import io
from typing import Any

import msgspec

from core.editions.tables import Edition
from core.errors import Conflict
from core.i18n import _
from core.polls.services import (
    PUBLISHED,
    candidate_texts,
    clear_ballots_of,
    get_poll,
    result_of,
    trackers_of,
)
from core.polls.tables import Participation, Poll
from core.spreadsheets import writer as csv_writer

FORMAT = "sip-ballots/2"


async def export(poll_id: int) -> dict[str, Any]:
    """The published list of a poll, in the platform's export format (docs/voting.md)."""
    poll = await get_poll(poll_id)
    if poll.state != PUBLISHED:
        raise Conflict(_("The ballots are listed once the result is published."))
    row = await Poll.select(Poll.closed_at, Poll.ballots_digest).where(Poll.id == poll_id).first()
    edition = await Edition.select(Edition.slug).where(Edition.id == poll.edition_id).first()
    texts = await candidate_texts(poll)
    trackers = await trackers_of(poll_id)
    ballots = await clear_ballots_of(poll_id)
    participations = await Participation.count().where(Participation.poll == poll_id)
    result = await result_of(poll_id)
    return {
        "format": FORMAT,
        "poll": {
            "id": poll.id,
            "title": f"AGM {poll.country}: themes of {edition['slug']}",
            "edition": edition["slug"],
            "country": poll.country,
            "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
            "sealed": bool(poll.public_key),
            "public_key": poll.public_key,
            "ballots_digest": row["ballots_digest"],
        },
        "method": poll.method,
        "seats": poll.seats,
        "candidates": [
            {"number": number, "title": texts[number].title("en"), "titles": texts[number].titles}
            for number, _theme in poll.candidates
        ],
        "trackers": trackers,
        "ballots": ballots,
        "counts": {
            "participations": participations,
            "trackers": len(trackers),
            "ballots": len(ballots),
        },
        "result": {"winners": result.winners},
    }


async def export_json(poll_id: int) -> bytes:
    return msgspec.json.format(msgspec.json.encode(await export(poll_id)), indent=1)


async def export_csv(poll_id: int) -> str:
    """One row per clear ballot, in the published order: its place and the ballot (JSON)."""
    data = await export(poll_id)
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["position", "ballot"])
    for place, ballot in enumerate(data["ballots"], start=1):
        writer.writerow([place, msgspec.json.encode(ballot).decode()])
    return out.getvalue()


async def trackers_text(poll_id: int) -> str:
    """The public ballot box as plain text: one tracker a line, sorted."""
    return "".join(f"{tracker}\n" for tracker in await trackers_of(poll_id))
