"""The secret ballot, tried as whoever holds the database would try it.

36 members vote over HTTP (30 online, 3 by proxy, 3 on paper in the room), each with a ranking
no one else chose. While the poll is open, the raw storage (the SQLite file and its WAL, or
PostgreSQL's table files after a CHECKPOINT, and every row of every table) holds no clear
ballot. Two of three tellers count; afterwards no sealed ballot is left anywhere in that
storage, the clear list is not in the order of the votes, every voter finds their tracker in
the public box, no published file pairs a tracker with a choice, and ``sip verify`` recounts
the published list to the announced winners.

Each scan has its positive control (what must be in the files is found there), so a scan that
reads nothing cannot pass.
"""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import timedelta

import msgspec

from core import clock
from core.editions import services as editions
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import services as polls
from core.polls.tables import SealedBallot
from core.rules import Rules
from core.themes import services as themes
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import make_tellers
from tests.secrecy_support import found_in, raw_files, table_dump

CANDIDATES = 8
ONLINE, PROXIES, PAPER = 30, 3, 3


def encodings(ballot: list[int]) -> list[bytes]:
    """How a clear ballot would look in storage: its JSON, with or without spaces."""
    compact = msgspec.json.encode(ballot)
    return [compact, compact.replace(b",", b", ")]


async def post(client, path: str, body: dict | None = None):
    return await client.post(
        path, json=body or {}, headers={"x-csrftoken": await csrf_token(client)}
    )


async def test_no_one_holding_the_database_learns_a_vote(client, database, tmp_path):
    rules = Rules(build_registry(database), database)
    rng = random.Random(20260614)
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    edition_id = await editions.create_edition("2020-2021")
    for n in range(CANDIDATES):
        await themes.add_board_theme(
            rules, board, edition_id, ["BE"], themes.ThemeTextIn(title=f"Theme {n}", language="en")
        )
    operator_id = await add_member("op@example.org", roles=(("operator", "BE"),))
    operator = await load_member(operator_id)
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition_id,
        "BE",
        "schulze",
        2,
        now - timedelta(minutes=5),
        now + timedelta(hours=2),
    )
    tellers = await make_tellers("BE", 3)
    await sign_in(client, operator_id)
    named = await post(
        client, f"/api/polls/{poll_id}/tellers", {"tellers": [t.id for t in tellers], "needed": 2}
    )
    assert named.status_code == 200, named.text

    voters = [
        await add_member(f"voter{n}@example.org", name=f"Voter {n}")
        for n in range(ONLINE + PROXIES + PAPER)
    ]
    holders = [await add_member(f"holder{n}@example.org") for n in range(PROXIES)]
    grantors = voters[ONLINE : ONLINE + PROXIES]
    for n, grantor in enumerate(grantors):
        await sign_in(client, grantor)
        given = await post(
            client, f"/api/polls/{poll_id}/proxy", {"holder": f"holder{n}@example.org"}
        )
        assert given.status_code == 201, given.text

    await sign_in(client, operator_id)
    assert (await post(client, f"/api/polls/{poll_id}/open")).status_code == 200
    shares = []
    for teller in tellers:
        await sign_in(client, teller.id)
        collected = await post(client, f"/api/polls/{poll_id}/share")
        assert collected.status_code == 200, collected.text
        assert collected.headers["cache-control"] == "no-store"
        shares.append(collected.json()["share"])
        again = await post(client, f"/api/polls/{poll_id}/share")
        assert again.status_code == 409  # shown once, never again

    # Every voter ranks all candidates in an order no one else chose.
    orders: set[tuple[int, ...]] = set()
    while len(orders) < len(voters):
        orders.add(tuple(rng.sample(range(1, CANDIDATES + 1), CANDIDATES)))
    ballot_of = dict(zip(voters, (list(o) for o in orders), strict=True))
    receipts: dict[int, str] = {}
    cast_order: list[int] = []
    for voter in voters[:ONLINE]:
        await sign_in(client, voter)
        cast = await post(client, f"/api/polls/{poll_id}/ballot", {"choice": ballot_of[voter]})
        assert cast.status_code == 201, cast.text
        receipts[voter] = cast.json()["receipt"]
        cast_order.append(voter)
    for grantor, holder in zip(grantors, holders, strict=True):
        await sign_in(client, holder)
        cast = await post(
            client,
            f"/api/polls/{poll_id}/proxy-ballot",
            {"grantor": grantor, "choice": ballot_of[grantor]},
        )
        assert cast.status_code == 201, cast.text
        receipts[grantor] = cast.json()["receipt"]
        cast_order.append(grantor)
    await sign_in(client, operator_id)
    for voter in voters[ONLINE + PROXIES :]:
        present = await post(client, f"/api/polls/{poll_id}/presence", {"member": voter})
        assert present.status_code == 200, present.text
        cast = await post(
            client,
            f"/api/polls/{poll_id}/paper-ballot",
            {"member": voter, "choice": ballot_of[voter]},
        )
        assert cast.status_code == 201, cast.text
        receipts[voter] = cast.json()["receipt"]
        cast_order.append(voter)

    # -- while the poll runs: no clear ballot anywhere --------------------------------------
    clear = [e for b in ballot_of.values() for e in encodings(b)]
    files = await raw_files(database)
    dump = await table_dump()
    assert found_in(files, clear) == []
    assert [e for e in clear if e.decode() in dump] == []
    # Positive controls: the scan reads the data (voters' addresses are there, and so is
    # every sealed ballot, which is what a holder of the database can take away).
    assert found_in(files, [b"voter7@example.org"])
    sealed = [bytes(r["sealed"]) for r in await SealedBallot.select(SealedBallot.sealed)]
    assert len(sealed) == len(voters)
    assert len(found_in(files, sealed)) >= len(voters)

    # The public ballot box lists every tracker; each voter finds theirs.
    box = (await client.get(f"/api/polls/{poll_id}/box")).json()
    assert box["count"] == len(voters) and box["trackers"] == sorted(receipts.values())
    for voter in rng.sample(voters, 5):
        found = await post(client, f"/api/polls/{poll_id}/receipt", {"receipt": receipts[voter]})
        assert found.json() == {"listed": True}

    # -- the count: two of the three tellers ------------------------------------------------
    assert (await post(client, f"/api/polls/{poll_id}/close")).status_code == 200
    await sign_in(client, tellers[2].id)
    counted = await post(client, f"/api/polls/{poll_id}/count", {"shares": shares[1:]})
    assert counted.status_code == 200, counted.text

    files = await raw_files(database)
    assert found_in(files, sealed) == []  # not in the file, its free pages, or the WAL
    assert found_in(files, [s[16:48] for s in sealed]) == []  # nor any 32-byte piece
    assert await SealedBallot.count() == 0
    assert found_in(files, [encodings(ballot_of[voters[0]])[0]])  # control: clear list is there

    published = await client.get(f"/polls/{poll_id}/ballots.json")
    assert published.status_code == 200
    data = msgspec.json.decode(published.content)
    # The clear list: every ballot once, not in the order of the votes, with no tracker.
    assert sorted(map(tuple, data["ballots"])) == sorted(map(tuple, ballot_of.values()))
    assert data["ballots"] != [ballot_of[v] for v in cast_order]
    assert all(isinstance(b, list) and all(isinstance(x, int) for x in b) for b in data["ballots"])
    assert data["trackers"] == sorted(receipts.values())
    assert data["counts"] == {"participations": 36, "trackers": 36, "ballots": 36}
    # No published file pairs a tracker with a choice.
    for path in ("ballots.json", "ballots.csv", "trackers.txt", "results"):
        body = (await client.get(f"/polls/{poll_id}/{path}")).text
        for line in body.splitlines():
            if any(t in line for t in receipts.values()):
                assert not any(e.decode() in line for e in clear), (path, line)

    path = tmp_path / "poll.json"
    path.write_bytes(published.content)
    verified = subprocess.run(
        [sys.executable, "-m", "core.cli", "verify", str(path)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
    assert "Confirmed" in verified.stdout and "36 tracker(s)" in verified.stdout
