"""The published ballot list: JSON and CSV, the trackers as text, and an independent recount
with ``sip verify``. No tracker is ever paired with a choice."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys

import pytest

from core.errors import Conflict
from core.polls import export
from core.polls import services as polls
from core.polls.tables import Poll
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)
from tests.test_polls import count, rules, setup_poll, shareholder  # noqa: F401 - the fixture

RANKINGS = [[1, 2, 3, 4], [2, 1], [2, 3, 1], [4], [2, 4, 1, 3], [3, 2]]


def verify(path, tmp_path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIP_")}
    env["SIP_CONFIG"] = str(tmp_path / "no-config.toml")  # a voter's machine: no installation
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "verify", str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )


async def published_poll(rules):  # noqa: F811 - the fixture's value
    poll_id, operator = await setup_poll(rules)
    receipts = [
        await polls.cast(rules, await shareholder(n), poll_id, ranking)
        for n, ranking in enumerate(RANKINGS)
    ]
    await polls.close_poll(rules, operator, poll_id)
    result = await count(poll_id)  # the tellers' count publishes the result
    return poll_id, receipts, result


def canonical_digest(data) -> str:
    """The announced digest as docs/voting.md defines it, computed from the file alone."""
    body = {
        "candidates": [[c["number"], c["titles"]] for c in data["candidates"]],
        "trackers": data["trackers"],
        "ballots": data["ballots"],
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def test_the_list_is_only_published_with_the_result(rules):  # noqa: F811
    poll_id, operator = await setup_poll(rules)
    with pytest.raises(Conflict):
        await export.export(poll_id)
    await polls.cast(rules, await shareholder(1), poll_id, [1, 2])
    await polls.close_poll(rules, operator, poll_id)
    with pytest.raises(Conflict):  # closed but not counted: nothing is listed yet
        await export.export(poll_id)


async def test_the_export_lists_the_trackers_and_the_ballots_apart(rules):  # noqa: F811
    """The published list holds the sorted trackers and the shuffled clear ballots side by
    side: a receipt proves that a ballot is in the box, never which ballot it is."""
    poll_id, receipts, result = await published_poll(rules)
    data = json.loads(await export.export_json(poll_id))
    poll = await polls.get_poll(poll_id)
    assert data["format"] == "sip-ballots/2"
    assert data["method"] == "schulze" and data["seats"] == 2
    assert data["poll"]["sealed"] is True and data["poll"]["public_key"] == poll.public_key
    assert [c["number"] for c in data["candidates"]] == [1, 2, 3, 4]
    assert all(c["title"] and c["titles"]["en"] == c["title"] for c in data["candidates"])
    # The public ballot box: every receipt, sorted, and nothing else.
    assert data["trackers"] == sorted(receipts)
    # The clear ballots: plain ballots, the ones cast, with no tracker, paper mark or time.
    assert all(isinstance(b, list) for b in data["ballots"])
    assert sorted(map(tuple, data["ballots"])) == sorted(tuple(r) for r in RANKINGS)
    assert data["ballots"] == await polls.clear_ballots_of(poll_id)
    # No tracker is paired with a choice: no receipt appears anywhere but in the box's list.
    outside = json.dumps({k: v for k, v in data.items() if k != "trackers"})
    assert not any(r in outside for r in receipts)
    assert data["counts"] == {"participations": 6, "trackers": 6, "ballots": 6}
    assert data["result"]["winners"] == list(result.winners)
    # The digest the poll announced is the one of what the file lists.
    announced = await Poll.select(Poll.ballots_digest).where(Poll.id == poll_id).first()
    assert data["poll"]["ballots_digest"] == announced["ballots_digest"] == canonical_digest(data)

    text = await export.export_csv(poll_id)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["position", "ballot"]
    assert rows[1:] == [
        [str(n), json.dumps(b, separators=(",", ":"))]
        for n, b in enumerate(data["ballots"], start=1)
    ]
    assert not any(r in text for r in receipts)
    assert await export.trackers_text(poll_id) == "".join(f"{r}\n" for r in sorted(receipts))


async def test_sip_verify_confirms_the_published_result_and_catches_a_changed_list(
    rules,  # noqa: F811
    tmp_path,
):
    poll_id, _, result = await published_poll(rules)
    path = tmp_path / "agm.json"
    path.write_bytes(await export.export_json(poll_id))
    confirmed = verify(path, tmp_path)
    assert confirmed.returncode == 0, confirmed.stderr
    assert "Confirmed" in confirmed.stdout and "as announced" in confirmed.stdout
    assert f"{len(RANKINGS)} tracker(s)" in confirmed.stdout
    assert "the digest matches" in confirmed.stdout

    data = json.loads(path.read_text())
    data["result"]["winners"] = (
        list(reversed(result.winners))[:1]
        + [n for n in (1, 2, 3, 4) if n not in result.winners][:1]
    )
    path.write_text(json.dumps(data))
    mismatch = verify(path, tmp_path)
    assert mismatch.returncode == 1
    assert "Mismatch" in mismatch.stderr

    # A candidate relabelled in the file changes no count, but it changes the digest.
    data = json.loads(await export.export_json(poll_id))
    data["candidates"][0]["titles"]["en"] = "Something else"
    path.write_text(json.dumps(data))
    relabelled = verify(path, tmp_path)
    assert relabelled.returncode == 1
    assert "Does not hold: the digest of the candidates, trackers and ballots" in relabelled.stderr

    # A ballot slipped into the list breaks the counts the file announces.
    data = json.loads(await export.export_json(poll_id))
    data["ballots"].append([1])
    path.write_text(json.dumps(data))
    stuffed = verify(path, tmp_path)
    assert stuffed.returncode == 1
    assert f"{len(RANKINGS) + 1} ballots are listed; the counts say {len(RANKINGS)}" in (
        stuffed.stderr
    )
