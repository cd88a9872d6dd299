"""``sip tally``: PrefLib files and the platform's JSON export, text and JSON, bad files.

Mostly in-process (click's runner); one run as a subprocess checks the real exit code and that
a bad file never shows a traceback. No database is touched.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from core.cli import main
from tests.conftest import SECRET, write_config

ROOT = Path(__file__).resolve().parent.parent

# Wikipedia's 45-voter Schulze example as a PrefLib strict complete order file.
SCHULZE_SOC = """\
# FILE NAME: schulze-45.soc
# TITLE: Wikipedia, Schulze method, 45 voters
# DATA TYPE: soc
# NUMBER ALTERNATIVES: 5
# ALTERNATIVE NAME 1: A
# ALTERNATIVE NAME 2: B
# ALTERNATIVE NAME 3: C
# ALTERNATIVE NAME 4: D
# ALTERNATIVE NAME 5: E
# NUMBER VOTERS: 45
# NUMBER UNIQUE ORDERS: 8
5: 1,3,2,5,4
5: 1,4,5,3,2
8: 2,5,4,1,3
3: 3,1,2,5,4
7: 3,1,5,2,4
2: 3,2,1,4,5
7: 4,3,5,2,1
8: 5,2,1,4,3
"""

# Wikipedia's STV food election, as orders with ties and truncation (.toi); one extra voter
# ties Orange and Pear first, which the Scottish reading makes void.
FOOD_TOI = """\
# DATA TYPE: toi
# NUMBER ALTERNATIVES: 5
# ALTERNATIVE NAME 1: Orange
# ALTERNATIVE NAME 2: Pear
# ALTERNATIVE NAME 3: Chocolate
# ALTERNATIVE NAME 4: Strawberry
# ALTERNATIVE NAME 5: Sweets
4: 1
2: 2,1
8: 3,4
4: 3,5
1: 4
1: 5
1: {1,2}
"""

# Approval ballots as categorical preferences: the first category is "approved".
APPROVAL_CAT = """\
# DATA TYPE: cat
# NUMBER ALTERNATIVES: 4
# ALTERNATIVE NAME 1: Memphis
# ALTERNATIVE NAME 2: Nashville
# ALTERNATIVE NAME 3: Chattanooga
# ALTERNATIVE NAME 4: Knoxville
# NUMBER CATEGORIES: 2
# CATEGORY NAME 1: approved
# CATEGORY NAME 2: not approved
42: {1},{2,3,4}
26: {2,3},{1,4}
32: {3,4},{1,2}
3: {},{1,2,3,4}
"""


CANDIDATES = [
    {
        "number": 3,
        "title": "Sharing economy",
        "titles": {"en": "Sharing economy", "fr": "Économie du partage"},
    },
    {"number": 1, "title": "Gender equality", "titles": {"en": "Gender equality"}},
    {"number": 2, "title": "Mobility", "titles": {"en": "Mobility", "nl": "Mobiliteit"}},
]
BALLOTS = [[1, 2], [3, 1], [2, 3], [1]]
# The trackers of the ballot box (SHA-256 of each sealed ballot), sorted; none is paired with
# a ballot.
TRACKERS = sorted(hashlib.sha256(f"sealed ballot {n}".encode()).hexdigest() for n in range(4))


def digest(candidates: list[Any], trackers: list[str], ballots: list[Any]) -> str:
    """The announced digest as docs/voting.md defines it, computed here independently: the
    SHA-256 of the canonical JSON (keys sorted, no spaces) of the candidates' numbers and
    titles, the trackers and the ballots."""
    body = {
        "candidates": [[c["number"], c["titles"]] for c in candidates],
        "trackers": trackers,
        "ballots": ballots,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def export_document(**changes: Any) -> dict[str, Any]:
    """A published list (format sip-ballots/2) of a small approval poll: candidates in the
    published (random) order, the sorted trackers, the shuffled clear ballots, the counts that
    tie them together and the digest the poll announced."""
    document: dict[str, Any] = copy.deepcopy(
        {
            "format": "sip-ballots/2",
            "poll": {
                "id": 7,
                "title": "AGM 2021 BE: themes for 2021-2022",
                "country": "BE",
                "sealed": True,
                "public_key": "5f" * 32,
                "ballots_digest": digest(CANDIDATES, TRACKERS, BALLOTS),
            },
            "method": "approval",
            "seats": 2,
            "candidates": CANDIDATES,
            "trackers": TRACKERS,
            "ballots": BALLOTS,
            "counts": {"participations": 4, "trackers": 4, "ballots": 4},
            "result": {"winners": [1, 3]},
        }
    )
    document.update(copy.deepcopy(changes))
    return document


def export(**changes: Any) -> str:
    return json.dumps(export_document(**changes), indent=2, ensure_ascii=False)


@pytest.fixture
def sip(tmp_path, monkeypatch):
    """Run ``sip tally`` in-process against a temporary config.toml; files go in tmp_path."""
    write_config(tmp_path, f"sqlite:///{tmp_path / 'never-created.sqlite3'}")
    monkeypatch.setenv("SIP_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("SIP_SECRET_KEY", SECRET)
    monkeypatch.delenv("SIP_DATABASE_URL", raising=False)

    def run(name: str, content: str, *args: str) -> Result:
        path = tmp_path / name
        path.write_text(content)
        return CliRunner().invoke(main, ["tally", str(path), *args])

    yield run
    assert not (tmp_path / "never-created.sqlite3").exists()  # a tally touches no database


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def refused(result: Result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


# -- PrefLib ----------------------------------------------------------------------------------


def test_schulze_on_a_soc_file_prints_the_winner_and_the_matrices(sip):
    out = ok(sip("schulze.soc", SCHULZE_SOC, "--method", "schulze", "--seats", "1")).stdout
    assert "Winner: 5 E" in out
    assert "Pairwise preferences d[X,Y]" in out
    assert "   1  - 20 26 30 22" in out  # A's row of the published matrix
    assert "Strongest paths p[X,Y]" in out
    assert "   5 25 28 28 31  -" in out
    assert "Schulze ranking: 5 > 1 > 3 > 2 > 4" in out


def test_json_output_is_one_object_with_the_winners_by_number(sip):
    result = ok(sip("schulze.soc", SCHULZE_SOC, "--method", "schulze", "--seats", "2", "--json"))
    report = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert report["winners"] == [5, 1]
    assert report["method"] == "schulze" and report["seats"] == 2
    assert report["candidates"][4] == {"number": 5, "name": "E"}
    assert report["tally"]["pairwise"][0] == [0, 20, 26, 30, 22]


def test_stv_on_a_toi_file_prints_each_stage(sip):
    out = ok(sip("food.toi", FOOD_TOI, "--method", "stv", "--seats", "3")).stdout
    assert "21 ballots, 1 blank or void" in out
    assert "quota floor(20 / (3 + 1)) + 1 = 6" in out
    assert "Stage 2: surplus of 3 Chocolate: 6.00000" in out
    assert "12 paper(s) at 1.00000 -> transfer value 0.50000" in out
    assert "Stage 3: exclusion of 2 Pear" in out
    assert "Winners: 3 Chocolate, 1 Orange, 4 Strawberry" in out
    report = json.loads(
        ok(sip("food.toi", FOOD_TOI, "--method", "stv", "--seats", "3", "--json")).stdout
    )
    assert report["winners"] == [3, 1, 4]
    assert [r["action"] for r in report["tally"]["rounds"]] == [
        "first preferences",
        "surplus",
        "exclusion",
    ]


def test_borda_reads_ties_and_truncation_from_a_toi_file(sip):
    report = json.loads(
        ok(sip("food.toi", FOOD_TOI, "--method", "borda", "--seats", "1", "--json")).stdout
    )
    assert report["winners"] == [3]  # Chocolate: 12 first places


def test_plurality_counts_the_first_places_of_a_ranked_file(sip):
    out = ok(sip("schulze.soc", SCHULZE_SOC, "--method", "plurality", "--seats", "1")).stdout
    assert "Winner: 3 C" in out  # 12 first places, against A 10, B 8, E 8, D 7
    assert "3 C  12  elected" in out


def test_approval_on_a_cat_file_counts_the_first_category(sip):
    result = ok(sip("cities.cat", APPROVAL_CAT, "--method", "approval", "--seats", "1"))
    assert "103 ballots, 3 blank or void" in result.stdout
    assert "Winner: 3 Chattanooga" in result.stdout
    assert "3 Chattanooga  58  elected" in result.stdout


# -- the platform's export --------------------------------------------------------------------


def test_json_export_gives_method_seats_and_the_tie_order(sip):
    result = ok(sip("poll.json", export(), "--json"))
    report = json.loads(result.stdout)
    # Approvals: 1 three times, 2 and 3 twice each; 3 is listed before 2, so 3 takes the tie.
    assert report["winners"] == [1, 3]
    assert report["poll"]["title"] == "AGM 2021 BE: themes for 2021-2022"
    assert report["tally"]["candidates"] == [3, 1, 2]
    assert report["tally"]["tie_breaks"]
    text = ok(sip("poll.json", export())).stdout
    assert "Poll: AGM 2021 BE: themes for 2021-2022" in text
    assert "Winners: 1 Gender equality, 3 Sharing economy" in text
    assert "Decided by the tie rule" in text


def test_json_export_can_be_recounted_with_another_method(sip):
    result = ok(sip("poll.json", export(), "--method", "approval", "--seats", "1", "--json"))
    assert json.loads(result.stdout)["winners"] == [1]
    assert "the file's seats is 2; counting with 1" in result.stderr


def test_json_export_with_ranked_ballots_and_ties(sip):
    ballots = [[1, [2, 3]], [2, 1], [1]]
    result = ok(sip("poll.json", export(method="schulze", seats=1, ballots=ballots), "--json"))
    assert json.loads(result.stdout)["winners"] == [1]


# -- sip verify: the published list holds together ----------------------------------------------


@pytest.fixture
def verify(tmp_path, monkeypatch):
    """Run ``sip verify`` in-process on a published list written to tmp_path."""
    write_config(tmp_path, f"sqlite:///{tmp_path / 'never-created.sqlite3'}")
    monkeypatch.setenv("SIP_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("SIP_SECRET_KEY", SECRET)
    monkeypatch.delenv("SIP_DATABASE_URL", raising=False)

    def run(document: dict[str, Any]) -> Result:
        path = tmp_path / "ballots.json"
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
        return CliRunner().invoke(main, ["verify", str(path)])

    yield run
    assert not (tmp_path / "never-created.sqlite3").exists()  # a check touches no database


def test_sip_verify_confirms_a_list_whose_counts_and_digest_hold(verify):
    result = ok(verify(export_document()))
    assert "Confirmed: recounting 4 ballot(s) by approval for 2 seat(s)" in result.stdout
    assert "elects 1 Gender equality, 3 Sharing economy, as announced" in result.stdout
    assert "4 tracker(s), 4 ballot(s) and the participations agree" in result.stdout
    assert "the digest matches" in result.stdout
    assert result.stderr == ""


def changed_title(document: dict[str, Any]) -> None:
    document["candidates"][0]["titles"]["fr"] = "Économie de plateforme"


def swapped_tracker(document: dict[str, Any]) -> None:
    document["trackers"] = sorted([*document["trackers"][1:], "0" * 64])


def repeated_tracker(document: dict[str, Any]) -> None:
    document["trackers"] = sorted([*document["trackers"][:3], document["trackers"][0]])


def reordered_ballots(document: dict[str, Any]) -> None:
    document["ballots"] = list(reversed(document["ballots"]))  # same ballots, same winners


def dropped_ballot(document: dict[str, Any]) -> None:
    document["ballots"] = document["ballots"][:3]


def more_participations(document: dict[str, Any]) -> None:
    document["counts"]["participations"] = 5


def more_trackers_counted(document: dict[str, Any]) -> None:
    document["counts"]["trackers"] = 5


def bad_tracker(document: dict[str, Any]) -> None:
    document["trackers"][0] = "not-a-tracker"


def other_digest(document: dict[str, Any]) -> None:
    document["poll"]["ballots_digest"] = "0" * 64


def no_counts(document: dict[str, Any]) -> None:
    del document["counts"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (more_participations, ("trackers (4), participations (5) and ballots (4) differ",)),
        (more_trackers_counted, ("4 trackers are listed; the counts say 5",)),
        (
            dropped_ballot,
            (
                "3 ballots are listed; the counts say 4",
                "trackers (4), participations (4) and ballots (3) differ",
                "the digest of the candidates, trackers and ballots is",
            ),
        ),
        (changed_title, ("the digest of the candidates, trackers and ballots is",)),
        (swapped_tracker, ("the digest of the candidates, trackers and ballots is",)),
        (reordered_ballots, ("the digest of the candidates, trackers and ballots is",)),
        (other_digest, ("the poll announced " + "0" * 64,)),
        (repeated_tracker, ("a tracker is listed twice",)),
        (bad_tracker, ("a tracker is not 64 hexadecimal digits",)),
        (no_counts, ("the file has no counts of trackers, participations and ballots",)),
    ],
)
def test_sip_verify_fails_on_a_list_that_does_not_hold_together(verify, change, words):
    document = export_document()
    change(document)
    result = verify(document)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "Confirmed" not in result.stdout
    assert "Does not hold:" in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    # The digest is named when, and only when, it differs: the one of what the file lists now,
    # beside the announced one.
    found = digest(document["candidates"], document["trackers"], document["ballots"])
    announced = document["poll"]["ballots_digest"]
    if found != announced:
        assert f"is {found}; the poll announced {announced}" in result.stderr
    elif change is not no_counts:
        assert "digest" not in result.stderr


def test_sip_verify_fails_on_a_changed_title_even_when_the_winners_are_right(verify):
    """Relabelling a candidate changes no count and no winner: only the digest catches it."""
    document = export_document()
    changed_title(document)
    result = verify(document)
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("Does not hold: the digest of the candidates, trackers and ballots")
    assert "Mismatch" not in result.stderr


def test_sip_verify_fails_on_a_changed_displayed_title(verify):
    """``title`` is the name ``sip verify`` prints beside each winner: relabelling it in a file
    must not be confirmed either (docs/voting.md: the digest "covers the wording of the
    ballot too, so relabelling a candidate in a file changes it")."""
    document = export_document()
    document["candidates"][1]["title"] = "Abolish the general meeting"  # candidate 1, elected
    result = verify(document)
    assert result.exit_code == 1, result.output
    assert "Does not hold:" in result.stderr
    assert "Confirmed" not in result.stdout


# -- bad files and options ---------------------------------------------------------------------


def test_unknown_format_is_refused(sip):
    refused(sip("ballots.csv", "1,2,3\n", "--method", "borda", "--seats", "1"), "unknown format")


def test_a_malformed_line_is_named_by_its_number(sip):
    broken = SCHULZE_SOC.replace("3: 3,1,2,5,4", "3; 3,1,2,5,4")
    refused(
        sip("broken.soc", broken, "--method", "schulze", "--seats", "1"),
        "line 15",
        "expected 'count: preferences'",
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("5: 1,3,2,5,4", "5: 1,3,2,5,9"), ("line 12", "alternative 9 is not between 1 and 5")),
        (("5: 1,3,2,5,4", "5: 1,3,2,5,1"), ("line 12", "alternative 1 appears twice")),
        (
            ("5: 1,3,2,5,4", "5: 1,3,2,5"),
            ("line 12", "ranks all 5 alternatives; this line ranks 4"),
        ),
        (("5: 1,3,2,5,4", "5: 1,3,{2,5},4"), ("line 12", "is a tie")),
        (("5: 1,3,2,5,4", "0: 1,3,2,5,4"), ("line 12", "at least 1")),
        (("5: 1,3,2,5,4", "5: 1,3,2,5,x"), ("line 12", "cannot read")),
        (("# NUMBER VOTERS: 45", "# NUMBER VOTERS: 44"), ("44 voters", "count 45")),
        (("# NUMBER ALTERNATIVES: 5\n", ""), ("NUMBER ALTERNATIVES",)),
        (("# DATA TYPE: soc", "# DATA TYPE: toc"), ("line 3", "DATA TYPE toc")),
    ],
)
def test_bad_preflib_files_are_refused_with_a_reason(sip, change, words):
    old, new = change
    assert old in SCHULZE_SOC
    refused(
        sip("bad.soc", SCHULZE_SOC.replace(old, new), "--method", "schulze", "--seats", "1"), *words
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--method", "condorcet", "--seats", "1"], ('unknown method "condorcet"', "schulze")),
        (["--method", "schulze", "--seats", "0"], ("at least 1 and less than",)),
        (["--method", "schulze", "--seats", "5"], ("at least 1 and less than", "(5)")),
        (["--seats", "1"], ("--method is required",)),
        (["--method", "stv"], ("--seats is required",)),
        (["--method", "approval", "--seats", "1"], ("approval counts approval ballots",)),
    ],
)
def test_bad_options_are_refused_with_a_reason(sip, args, words):
    refused(sip("schulze.soc", SCHULZE_SOC, *args), *words)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (export(method="instant_runoff"), ('method "instant_runoff" is not installed',)),
        (export(seats=3), ("seats must be at least 1 and less than the 3",)),
        (export(ballots=[[1], [9]]), ("ballot 2: Unknown candidate 9",)),
        (export(ballots=[[1], [2, 2]]), ("ballot 2:",)),
        (export(ballots=["1"]), ("Expected `array`",)),
        (export(ballots=[{"receipt_hash": "a", "ballot": [1]}]), ("Expected `array`",)),
        ('{"poll": 1,\n "method": "approval",\n "seats": 2,,\n}', ("line 3", "malformed")),
    ],
)
def test_bad_json_exports_are_refused_with_a_reason(sip, content, words):
    refused(sip("poll.json", content), *words)


def test_a_bad_file_exits_with_2_and_no_traceback_in_a_real_process(tmp_path):
    write_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    (tmp_path / "bad.soi").write_text("# NUMBER ALTERNATIVES: 3\n2: 1,2\nnonsense\n")
    env = {**os.environ, "SIP_CONFIG": str(tmp_path / "config.toml"), "SIP_SECRET_KEY": SECRET}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "tally",
            str(tmp_path / "bad.soi"),
            "--method",
            "stv",
            "--seats",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert "line 3" in done.stderr and "Traceback" not in done.stderr + done.stdout
    assert done.stdout == ""


def test_anyone_can_recount_without_an_installation_of_the_platform(tmp_path):
    """No config.toml anywhere: ``sip tally`` counts with the core's methods."""
    (tmp_path / "agm.soc").write_text(
        "# NUMBER ALTERNATIVES: 3\n# NUMBER VOTERS: 5\n3: 1,2,3\n2: 2,3,1\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIP_")}
    env["SIP_CONFIG"] = str(tmp_path / "no-such-config.toml")
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "tally", str(tmp_path / "agm.soc")]
        + ["--method", "schulze", "--seats", "1", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["winners"] == [1]
    assert not (tmp_path / "var").exists()  # nothing written: no secret, no database
