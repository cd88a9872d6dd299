"""Hostile ballot files: ``sip tally`` and the readers stay within explicit limits.

The reproductions of issue 15 (a header claiming 10^9 alternatives, a count of 5,000 nines, a
200 KB line, Schulze on 1,500 candidates) are regression tests here, and Hypothesis feeds the
readers random bytes, PrefLib-like files and mutated JSON exports: every input either tallies
or is refused with a ``BallotFileError`` (``sip tally``: exit code 2) whose message is one short
line naming the file, never a traceback and never a whole line of the file.

No database and no config.toml: ``sip tally`` then counts with the core's methods.
"""

from __future__ import annotations

import json
import os
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.cli import main
from core.voting.files import (
    DEFAULT_LIMITS,
    FORMATS,
    BallotFileError,
    Limits,
    ballots_for,
    read_ballot_file,
)
from core.voting.methods import CORE_METHODS
from tests.conftest import IN_CI

METHODS = {method.name: method for method in CORE_METHODS}
MESSAGE = 200  # the longest refusal, in characters ("about 200" in the issue)
QUOTED = 40  # the longest piece of a file a message may repeat


@pytest.fixture
def sip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run ``sip tally`` (or ``sip verify``) in-process without any installation."""
    for name in [name for name in os.environ if name.startswith("SIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIP_CONFIG", str(tmp_path / "no-such-config.toml"))

    def run(name: str, content: str | bytes, *args: str, command: str = "tally") -> Result:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return CliRunner().invoke(main, [command, str(path), *args])

    yield run
    assert not (tmp_path / "var").exists()  # nothing written


def refused(result: Result, *words: str) -> str:
    """Exit code 2, one short line on stderr holding ``words``, no traceback, nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.stderr.rstrip("\n")
    assert "Traceback" not in result.output
    assert "\n" not in message, message
    assert len(message) <= MESSAGE, message
    assert result.stdout == ""
    for word in words:
        assert word in message, message
    return message


def short(message: str, where: str) -> None:
    """A reader's refusal: one line, short, starting with the file's name."""
    assert "\n" not in message, message
    assert len(message) <= MESSAGE, message
    assert message.startswith(where), message


def peak_megabytes(work: Any) -> tuple[Any, float]:
    """Run ``work`` and measure the most memory Python (numpy included) held meanwhile."""
    tracemalloc.start()
    try:
        try:
            result = work()
        except BallotFileError as exc:
            result = exc
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / 2**20


def soc(n: int, rows: list[tuple[int, list[int]]]) -> str:
    lines = [f"# NUMBER ALTERNATIVES: {n}"]
    lines += [f"{count}: {','.join(map(str, ranking))}" for count, ranking in rows]
    return "\n".join(lines) + "\n"


# -- the reproductions -----------------------------------------------------------------


def test_a_billion_alternatives_are_refused_before_anything_is_allocated(sip, tmp_path):
    content = "# NUMBER ALTERNATIVES: 1000000000\n1: 1\n"
    message = refused(
        sip("huge.soi", content, "--method", "schulze", "--seats", "1"),
        "huge.soi: line 1",
        "1,000,000,000 alternatives",
        "the limit is 100",
        "--max-candidates",
    )
    assert message.startswith("Cannot tally: huge.soi")
    # The reader refuses at the header: it never holds more than a few kilobytes.
    (tmp_path / "again.soi").write_text(content)
    error, peak = peak_megabytes(lambda: read_ballot_file(tmp_path / "again.soi"))
    assert isinstance(error, BallotFileError)
    assert peak < 1, f"{peak:.1f} MB"


def test_a_count_of_five_thousand_nines_is_refused_in_one_short_line(sip):
    content = "# NUMBER ALTERNATIVES: 3\n" + "9" * 5000 + ": 1,2\n2: 2,1\n"
    # Within the default limits the line is already too long ...
    message = refused(
        sip("nines.soi", content, "--method", "plurality", "--seats", "1"),
        "nines.soi: line 2",
        "5,005 characters long",
    )
    assert "9" * QUOTED not in message
    # ... and with lines long enough for 1,000 candidates, the count itself is refused.
    for method in METHODS:
        args = ["--method", method, "--seats", "1", "--max-candidates", "1000"]
        message = refused(
            sip("nines.soi", content, *args),
            "line 2",
            "the count of voters has more than 18 digits",
        )
        assert "9" * QUOTED not in message


def test_a_header_number_of_thousands_of_digits_is_refused(sip):
    for header in ("NUMBER VOTERS", "NUMBER ALTERNATIVES"):
        content = f"# NUMBER ALTERNATIVES: 3\n# {header}: {'7' * 4000}\n1: 1,2\n"
        message = refused(
            sip("digits.soi", content, "--method", "stv", "--seats", "1"),
            "line 2",
            "more than 18 digits",
        )
        assert "7" * QUOTED not in message


def test_the_sum_of_the_counts_is_bounded(sip):
    half = "5" + "0" * 17  # 18 digits each; together 19
    content = f"# NUMBER ALTERNATIVES: 3\n{half}: 1\n{half}: 2\n"
    refused(
        sip("sum.soi", content, "--method", "stv", "--seats", "1"),
        "line 3",
        "the counts add up to more than 18 digits",
    )


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("ballot.soi", "1: " + "1," * 100_000 + "2"),  # a ballot line
        ("junk.soi", "x" * 200_000),  # a line that is nothing
        ("header.soi", "# ALTERNATIVE NAME 1: " + "n" * 200_000),  # a header line
        ("comment.soi", "#" * 200_000),  # a comment
    ],
)
def test_a_200_kb_line_gets_a_short_error_that_does_not_repeat_it(sip, name, line):
    content = f"# NUMBER ALTERNATIVES: 3\n{line}\n1: 1\n"
    message = refused(
        sip(name, content, "--method", "borda", "--seats", "1"),
        f"{name}: line 2",
        "characters long; the limit is 4,096",
    )
    assert line[:QUOTED] not in message


def test_a_long_line_within_the_limit_is_quoted_in_at_most_40_characters(sip):
    line = "1: 1,2," + "x" * 3000
    message = refused(
        sip("quote.soi", f"# NUMBER ALTERNATIVES: 3\n{line}\n", "--method", "stv", "--seats", "1"),
        "line 2",
        "cannot read",
    )
    assert "x" * (QUOTED + 1) not in message


def test_1500_candidates_are_refused_naming_the_option_and_counted_with_it(sip):
    rows = [(3, list(range(1, 1501))), (2, list(range(1500, 0, -1))), (1, [7, *range(1, 7)])]
    content = soc(1500, [(c, r + [x for x in range(1, 1501) if x not in r]) for c, r in rows])
    refused(
        sip("many.soc", content, "--method", "schulze", "--seats", "1"),
        "many.soc: line 1",
        "1,500 alternatives",
        "--max-candidates",
    )
    counted = sip(
        "many.soc", content, "--method", "plurality", "--seats", "1", "--max-candidates", "1500"
    )
    assert counted.exit_code == 0, counted.output
    assert "Winner: 1" in counted.stdout  # 3 first places
    report = json.loads(
        sip(
            "many.soc",
            content,
            *("--method", "borda", "--seats", "1", "--max-candidates", "1500", "--json"),
        ).stdout
    )
    assert report["winners"] == [1]
    assert len(report["candidates"]) == 1500


def test_the_ballot_line_and_file_size_limits_name_their_options(sip):
    rows = "\n".join(f"1: {1 + i % 3},{1 + (i + 1) % 3}" for i in range(30)) + "\n"
    content = "# NUMBER ALTERNATIVES: 3\n" + rows
    args = ("--method", "stv", "--seats", "1")
    refused(sip("lines.soi", content, *args, "--max-ballots", "20"), "line 22", "--max-ballots")
    assert sip("lines.soi", content, *args, "--max-ballots", "30").exit_code == 0
    big = "# NUMBER ALTERNATIVES: 3\n" + "#" * 80 + "\n" * 20_000 + "1: 1\n"
    big = big * 60  # about 1.2 MB of comments and blank lines, then one header again
    refused(sip("big.soi", big, *args, "--max-file-size", "1"), "larger than 1 MB", "--max-file")


def test_a_json_export_past_the_limits_is_refused(sip):
    candidates = [{"number": n, "title": f"T{n}"} for n in range(1, 102)]
    document = {"poll": {}, "method": "approval", "seats": 1, "candidates": candidates[:3]}
    refused(
        sip("wide.json", json.dumps({**document, "candidates": candidates, "ballots": [[1]]})),
        "101 candidates",
        "--max-candidates",
    )
    refused(
        sip("long.json", json.dumps({**document, "ballots": [[1]] * 11}), "--max-ballots", "10"),
        "11 ballots",
        "--max-ballots",
    )
    refused(
        sip("name.json", json.dumps({**document, "ballots": [[1]], "method": "m" * 200_000})),
        "is not installed",
    )
    huge = {"number": 10**30, "title": "x"}
    refused(
        sip(
            "number.json",
            json.dumps({**document, "candidates": [huge, *candidates[:2]], "ballots": [[1]]}),
        ),
        "more than 18 digits",
    )
    ballot = [int("4" * 4000)]  # an unknown candidate: the message quotes a few digits of it
    message = refused(
        sip("ballot.json", json.dumps({**document, "ballots": [ballot]})),
        "ballot 1: Unknown candidate",
    )
    assert "4" * 200 not in message


@pytest.mark.parametrize("command", ["tally", "verify"])
def test_deeply_nested_json_is_refused_not_a_recursion_error(sip, command):
    for depth in (40, 900, 100_000):
        nested = "[" * depth + "]" * depth
        content = (
            f'{{"poll": {nested}, "method": "approval", "seats": 1, '
            '"candidates": [{"number": 1}, {"number": 2}], "ballots": [[1]]}'
        )
        refused(sip("deep.json", content, command=command), "nested too deeply")


def test_markup_in_a_file_is_printed_as_it_is(sip):
    """Rich markup in a quoted piece of a file (``[/]``) is text, not a markup error."""
    message = refused(
        sip("markup.soi", "# NUMBER ALTERNATIVES: 3\n[/]x[bold]: 1\n", "--method", "stv"),
        "[/]x[bold]",
    )
    assert message.startswith("Cannot tally: markup.soi: line 2")


def test_control_characters_from_a_file_never_reach_the_terminal(sip):
    """A name or a malformed line with an escape sequence is printed escaped (``\\x1b``)."""
    clear = "\x1b[2J\x1b]0;owned\x07"
    content = f"# NUMBER ALTERNATIVES: 2\n# ALTERNATIVE NAME 1: A{clear}\n2: 1,2\n"
    counted = sip("names.soi", content, "--method", "stv", "--seats", "1")
    assert counted.exit_code == 0, counted.output
    assert "\x1b" not in counted.output and "\x07" not in counted.output
    assert "Winner: 1 A\\x1b[2J" in counted.stdout
    message = refused(sip("line.soi", f"# NUMBER ALTERNATIVES: 2\n{clear}\n", "--method", "stv"))
    assert "\x1b" not in message and "\\x1b" in message
    two = [{"number": 1}, {"number": 2}]
    export = {"poll": {}, "method": clear, "seats": 1, "candidates": two, "ballots": []}
    message = refused(sip("method.json", json.dumps(export)), "is not installed")
    assert "\x1b" not in message


def test_schulze_at_the_default_limit_is_counted(tmp_path):
    """100 candidates (the default limit), 3,000 distinct full rankings: Schulze counts it (the
    figures in docs/voting.md give its time at the limits)."""
    rng = random.Random(15)
    rows = []
    for _ in range(3000):
        ranking = list(range(1, 101))
        rng.shuffle(ranking)
        rows.append((rng.randint(1, 9), ranking))
    path = tmp_path / "hundred.soc"
    path.write_text(soc(100, rows))
    data = read_ballot_file(path, METHODS)
    assert len(data.candidates) == DEFAULT_LIMITS.candidates
    tally = METHODS["schulze"].tally(data.ballots, data.candidates, 3)
    assert len(tally.winners) == 3
    assert sum(tally.pairwise[0][1:]) + sum(row[0] for row in tally.pairwise[1:]) == 99 * sum(
        c for c, _ in rows
    )


# -- Hypothesis: random files -----------------------------------------------------------------

EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    # No per-example deadline: the verdict never depends on the machine's speed. Time and
    # memory are bounded by the readers' limits, which the examples hit (SMALL below).
    deadline=None,
    database=None,
    derandomize=IN_CI,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SMALL = Limits(candidates=12, ballots=200, file_bytes=64 * 1024)  # small: fast examples


def outcome(path: Path, limits: Limits = SMALL) -> str:
    """Read and count ``path`` with every method that takes its ballots; "ok" or the error."""
    try:
        data = read_ballot_file(path, METHODS, limits)
    except BallotFileError as exc:
        short(exc.message, path.name)
        return "refused"
    counted = 0
    for method in METHODS.values():
        seats = 1 if data.seats is None else min(data.seats, len(data.candidates) - 1)
        try:
            ballots = ballots_for(data, method, seats)
        except BallotFileError as exc:  # this method does not take this file's ballots
            short(exc.message, path.name)
            continue
        tally = method.tally(ballots, data.candidates, seats)
        assert len(tally.winners) == seats
        counted += 1
    assert counted, "every file that reads is counted by some method"
    return "ok"


@FUZZ
@given(content=st.binary(max_size=2000), suffix=st.sampled_from(FORMATS))
def test_random_bytes_tally_or_are_refused_in_one_short_line(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("bytes") / f"random.{suffix}"
    path.write_bytes(content)
    outcome(path)


HOSTILE = st.one_of(
    st.sampled_from(["0", "-1", "x", "", "2" * 19, "9" * 5000, "1_0", "\u0661", "1e3"]),
    st.sampled_from([2**53, 2**53 + 1, 2**63, 2**64 + 1, 10**18, 10**40]).map(str),
    st.text(max_size=12),
)
SPACE = st.sampled_from(["", "", " ", "\t"])


def hostile(draw: Any, value: str, one_in: int = 8) -> str:
    """Now and then, something else than ``value``."""
    return draw(HOSTILE) if draw(st.integers(1, one_in)) == 1 else value


@st.composite
def preference(draw: Any, fmt: str, n: int) -> str:
    """A preference list for ``fmt`` over 1..n, mostly well formed."""
    order = [str(a) for a in draw(st.permutations(range(1, max(n, 1) + 1)))]
    if fmt in ("soi", "toi") or draw(st.integers(0, 9)) == 0:
        order = order[: draw(st.integers(0, len(order)))]
    order = [hostile(draw, a, 150) for a in order]
    groups: list[list[str]] = []
    for alternative in order:
        tie = fmt in ("toc", "toi", "cat") or draw(st.integers(0, 9)) == 0
        if groups and tie and draw(st.booleans()):
            groups[-1].append(alternative)
        else:
            groups.append([alternative])
    if fmt == "cat" and draw(st.booleans()):
        groups.append([])
    comma = "," + draw(SPACE)
    text = comma.join(
        g[0] if len(g) == 1 and not draw(st.integers(0, 4)) == 0 else "{" + comma.join(g) + "}"
        for g in groups
    )
    if draw(st.integers(0, 14)) == 0:  # junk somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=6)) + text[at:]
    return text


@st.composite
def preflib(draw: Any) -> tuple[str, str]:
    """A PrefLib file of a random format: mostly sound, with hostile headers, numbers and
    lines here and there (each example has a few chances to go wrong)."""
    fmt = draw(st.sampled_from(["soc", "soi", "toc", "toi", "cat"]))
    n = draw(st.integers(2, 8))
    headers = [f"# NUMBER ALTERNATIVES: {hostile(draw, str(n), 10)}"]
    if draw(st.booleans()):
        headers.append(f"# DATA TYPE: {hostile(draw, fmt, 10)}")
    for number in range(1, n + 1):
        if draw(st.booleans()):
            name = draw(st.text(max_size=12).filter(lambda t: "\n" not in t and "\r" not in t))
            headers.append(f"# ALTERNATIVE NAME {hostile(draw, str(number), 20)}: {name}")
    if fmt == "cat" and draw(st.booleans()):
        headers.append(f"# NUMBER CATEGORIES: {draw(st.integers(1, 3))}")
    if draw(st.integers(0, 5)) == 0:
        headers.append("# " + draw(st.text(max_size=30)))
    lines, voters = [], 0
    for _ in range(draw(st.integers(0, 10))):
        count = draw(st.integers(1, 20) | st.sampled_from([2**53, 2**53 + 1, 10**17]))
        voters += count
        count_text = hostile(draw, str(count), 40)
        lines.append(f"{count_text}:{draw(SPACE)}{draw(preference(fmt, n))}")
    if draw(st.booleans()):
        lines.append(f"# NUMBER VOTERS: {hostile(draw, str(voters), 6)}")
    if draw(st.integers(0, 9)) == 0:
        lines.append(draw(st.text(max_size=50)))
    if draw(st.integers(0, 5)) == 0:
        lines = list(draw(st.permutations(lines)))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return fmt, newline.join(headers + lines) + newline


@FUZZ
@given(file=preflib())
def test_preflib_like_files_tally_or_are_refused_in_one_short_line(tmp_path_factory, file):
    fmt, content = file
    path = tmp_path_factory.mktemp("preflib") / f"fuzz.{fmt}"
    path.write_text(content, encoding="utf-8")
    outcome(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def export(draw: Any) -> dict[str, Any]:
    """A platform export: mostly sound ballots for its method, some fields replaced by random
    JSON or hostile numbers now and then."""
    method = draw(st.sampled_from(sorted(METHODS)))
    n = draw(st.integers(2, 8))
    numbers = draw(st.permutations(range(1, n + 1)))
    if draw(st.integers(0, 5)) == 0:
        numbers = [draw(st.integers(-2, 20) | st.integers(0, 10**25)) for _ in numbers]
    seats = draw(st.integers(1, n - 1))
    kind = METHODS[method].ballot_kind
    ballots = []
    for _ in range(draw(st.integers(0, 20))):
        chosen = list(draw(st.permutations(numbers)))[: draw(st.integers(1, n))]
        if kind == "choose":
            chosen = chosen[:seats]
        elif kind == "ranked" and METHODS[method].allows_ties and len(chosen) > 2:
            chosen = [chosen[:2], *chosen[2:]] if draw(st.booleans()) else chosen
        ballots.append(chosen)
    document: dict[str, Any] = {
        "format": "sip-ballots/2",
        "poll": {"title": draw(st.text(max_size=20))},
        "method": method if draw(st.integers(0, 9)) else "condorcet",
        "seats": seats if draw(st.integers(0, 9)) else draw(st.integers(-1, 10)),
        "candidates": [{"number": x, "title": draw(st.text(max_size=8))} for x in numbers],
        "ballots": ballots,
    }
    if ballots and draw(st.integers(0, 5)) == 0:
        ballots[0] = [draw(st.integers() | st.sampled_from([10**30, 2**64]))]
    for key in draw(st.lists(st.sampled_from(sorted(document)), max_size=1)):
        if draw(st.integers(0, 3)) == 0:
            document[key] = draw(JSON)
    return document


@FUZZ
@given(document=export())
def test_json_exports_tally_or_are_refused_in_one_short_line(tmp_path_factory, document):
    path = tmp_path_factory.mktemp("json") / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    outcome(path)


@settings(FUZZ, max_examples=15)
@given(file=preflib(), method=st.sampled_from(sorted(METHODS)))
def test_sip_tally_exits_0_or_2_without_a_traceback(sip, file, method):
    """In-process through click: the command's own handling, exit code and output."""
    fmt, content = file
    result = sip(f"cli.{fmt}", content, "--method", method, "--seats", "1", "--json")
    if result.exit_code == 0:
        report = json.loads(result.stdout)
        assert len(report["winners"]) == 1
    else:
        refused(result)
