"""The published ballot list: JSON and CSV, and an independent recount with ``sip verify``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from core.errors import Conflict
from core.polls import export
from core.polls import services as polls
from tests.test_polls import rules, setup_poll, shareholder  # noqa: F401 - the fixture

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
    result = await polls.publish(rules, operator, poll_id)
    return poll_id, receipts, result


async def test_the_list_is_only_published_with_the_result(rules):  # noqa: F811
    poll_id, _ = await setup_poll(rules)
    with pytest.raises(Conflict):
        await export.export(poll_id)


async def test_the_export_lists_every_ballot_under_its_receipt_hash(rules):  # noqa: F811
    poll_id, receipts, result = await published_poll(rules)
    data = json.loads(await export.export_json(poll_id))
    assert data["method"] == "schulze" and data["seats"] == 2
    assert [c["number"] for c in data["candidates"]] == [1, 2, 3, 4]
    assert all(c["title"] for c in data["candidates"])
    hashes = [b["receipt_hash"] for b in data["ballots"]]
    assert hashes == sorted(hashes)
    assert {polls.receipt_hash(r) for r in receipts} == set(hashes)
    assert sorted(map(tuple, (b["ballot"] for b in data["ballots"]))) == sorted(
        tuple(r) for r in RANKINGS
    )
    assert data["result"]["winners"] == list(result.winners)
    rows = list(csv.reader(io.StringIO(await export.export_csv(poll_id))))
    assert rows[0] == ["receipt_hash", "ballot", "paper"]
    assert len(rows) == len(RANKINGS) + 1


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

    data = json.loads(path.read_text())
    data["result"]["winners"] = (
        list(reversed(result.winners))[:1]
        + [n for n in (1, 2, 3, 4) if n not in result.winners][:1]
    )
    path.write_text(json.dumps(data))
    mismatch = verify(path, tmp_path)
    assert mismatch.returncode == 1
    assert "Mismatch" in mismatch.stderr
