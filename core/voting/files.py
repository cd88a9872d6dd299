"""Ballot files a count reads: PrefLib's formats and the platform's own JSON export.

PrefLib (https://www.preflib.org, "data format"): header lines start with ``#``; a file needs
``# NUMBER ALTERNATIVES: n`` and may name each alternative ``# ALTERNATIVE NAME i: name``
(alternatives are numbered 1 to n). Every other line is ``count: preferences``, meaning that
``count`` voters cast that ballot:

``.soc`` / ``.soi``
    Strict orders, complete / incomplete: ``12: 3,1,2``.
``.toc`` / ``.toi``
    Orders with ties, complete / incomplete: ``5: 2,{1,3}`` (1 and 3 share the second rank).
``.cat``
    Categorical preferences, best category first (``# NUMBER CATEGORIES: c``,
    ``# CATEGORY NAME j: name``): ``7: {1,4},{2,3}``. The first category counts as approved,
    so a ``.cat`` file holds approval ballots.

The candidate list of a PrefLib file, and so its tie-break order, is the alternatives' numbers
1 to n. The platform's export (``.json``, defined in docs/voting.md) lists its candidates in the
poll's published order and each ballot with the hash of its voter's receipt.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from core.errors import InvalidInput
from core.voting.base import APPROVAL, CHOOSE, RANKED, Ballot, VotingMethod

PREFLIB_RANKED = {"soc", "soi", "toc", "toi"}
FORMATS = ("soc", "soi", "toc", "toi", "cat", "json")


class BallotFileError(InvalidInput):
    """A ballot file that cannot be counted; the message names the file and the line."""


@dataclass
class BallotFile:
    path: str
    format: str  # one of FORMATS
    kind: str  # the ballots' form: ranked or approval (JSON: the form of its method)
    candidates: list[int]  # numbers, in the candidate-list (tie-break) order
    names: dict[int, str]
    ballots: Counter[Ballot] = field(default_factory=Counter)  # normalised, with counts
    poll: Any = None  # JSON: what the export says about the poll
    method: str | None = None  # JSON: the poll's method
    seats: int | None = None  # JSON: the poll's seats

    def name(self, number: int) -> str:
        return self.names.get(number, "")


def read_ballot_file(
    path: str | Path, methods: Mapping[str, VotingMethod] | None = None
) -> BallotFile:
    """Read a PrefLib or JSON ballot file; ``methods`` validate a JSON export's ballots."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise BallotFileError(
            f"{path.name}: unknown format {path.suffix or '(no extension)'!r}; a ballot file "
            "is .soc, .soi, .toc, .toi, .cat (PrefLib) or .json (the platform's export)."
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BallotFileError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    if suffix == "json":
        return _read_export(path, raw, methods or {})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BallotFileError(f"{path.name}: not UTF-8 text (byte {exc.start}).") from None
    return _read_preflib(path, suffix, text)


# -- PrefLib ----------------------------------------------------------------------------------

# re.ASCII: \d is 0-9 only, so int() reads exactly what the patterns let through.
HEADER = re.compile(
    r"#\s*(?P<key>[A-Za-z][A-Za-z ]*?)\s*(?P<number>\d+)?\s*:\s*(?P<value>.*)", re.ASCII
)
LINE = re.compile(r"(?P<count>\d+)\s*:\s*(?P<rest>.*)", re.ASCII)
ITEM = r"(?:\d+|\{\s*(?:\d+(?:\s*,\s*\d+)*)?\s*\})"
ITEMS = re.compile(rf"\s*(?:{ITEM}(?:\s*,\s*{ITEM})*)?\s*", re.ASCII)
STRICT = re.compile(r"\s*(?:\d+(?:\s*,\s*\d+)*)?\s*", re.ASCII)  # no braces: the common case
TOKEN = re.compile(ITEM, re.ASCII)
DIGITS = re.compile(r"\d+", re.ASCII)


def _read_preflib(path: Path, fmt: str, text: str) -> BallotFile:
    where = path.name

    def fail(lineno: int, message: str) -> BallotFileError:
        return BallotFileError(f"{where}: line {lineno}: {message}")

    headers: dict[str, tuple[int, str]] = {}
    names: dict[int, str] = {}
    data: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = HEADER.fullmatch(line)
            if not match:
                continue  # a comment
            key = " ".join(match["key"].upper().split())
            if key == "ALTERNATIVE NAME" and match["number"]:
                names[int(match["number"])] = match["value"].strip()
            elif match["number"] is None:
                headers[key] = (lineno, match["value"].strip())
            continue
        data.append((lineno, line))

    def number(key: str) -> int | None:
        if key not in headers:
            return None
        lineno, value = headers[key]
        if not (value.isascii() and value.isdigit()):
            raise fail(lineno, f"'# {key}' must be a whole number, not {value!r}")
        return int(value)

    if "DATA TYPE" in headers:
        lineno, declared = headers["DATA TYPE"]
        if declared.lower() != fmt:
            raise fail(lineno, f"the header says DATA TYPE {declared} but the file is .{fmt}")
    n = number("NUMBER ALTERNATIVES")
    if n is None:
        raise BallotFileError(f"{where}: no '# NUMBER ALTERNATIVES: n' header line")
    if n < 2:
        raise BallotFileError(f"{where}: a poll needs at least 2 alternatives, the file has {n}")
    for alternative in names:
        if not 1 <= alternative <= n:
            raise BallotFileError(
                f"{where}: ALTERNATIVE NAME {alternative} is not one of the {n} alternatives"
            )
    categories = number("NUMBER CATEGORIES") if fmt == "cat" else None

    ballots: Counter[Ballot] = Counter()
    for lineno, line in data:
        match = LINE.fullmatch(line)
        if not match:
            raise fail(
                lineno, f"expected 'count: preferences' (like '3: 1,{{2,4}},3'), got {line!r}"
            )
        count = int(match["count"])
        if count < 1:
            raise fail(lineno, "the count of voters must be at least 1")
        rest = match["rest"]
        braces = "{" in rest
        if not (ITEMS if braces else STRICT).fullmatch(rest):
            raise fail(
                lineno,
                f"cannot read {rest!r}: preferences are alternative numbers separated by "
                "commas, with tied ones in braces like {2,4}",
            )
        if braces:
            groups = [[int(x) for x in DIGITS.findall(token)] for token in TOKEN.findall(rest)]
        else:
            groups = [[int(x)] for x in rest.split(",")] if rest.strip() else []
        listed = [alternative for group in groups for alternative in group]
        if listed and (min(listed) < 1 or max(listed) > n):
            wrong = next(a for a in listed if not 1 <= a <= n)
            raise fail(lineno, f"alternative {wrong} is not between 1 and {n}")
        if len(set(listed)) != len(listed):
            twice = next(a for i, a in enumerate(listed) if a in listed[:i])
            raise fail(lineno, f"alternative {twice} appears twice")
        if fmt == "cat":
            if categories is not None and len(groups) != categories:
                raise fail(lineno, f"{len(groups)} categories, but the header says {categories}")
            ballot: Ballot = tuple(sorted(groups[0])) if groups else ()
        else:
            ballot = _ranking(fmt, groups, n, lambda message, at=lineno: fail(at, message))
        ballots[ballot] += count

    voters = number("NUMBER VOTERS")
    counted = sum(ballots.values())
    if voters is not None and voters != counted:
        raise BallotFileError(
            f"{where}: the header says {voters} voters but the lines count {counted}"
        )
    return BallotFile(
        path=str(path),
        format=fmt,
        kind=APPROVAL if fmt == "cat" else RANKED,
        candidates=list(range(1, n + 1)),
        names=names,
        ballots=ballots,
    )


def _ranking(fmt: str, groups: list[list[int]], n: int, fail: Any) -> Ballot:
    if any(not group for group in groups):
        raise fail("an empty group {} in a ranking")
    if fmt in ("soc", "soi") and any(len(group) > 1 for group in groups):
        tie = next(group for group in groups if len(group) > 1)
        braces = "{" + ",".join(map(str, tie)) + "}"
        raise fail(f"{braces} is a tie, but a .{fmt} file holds strict orders")
    ranked = sum(len(group) for group in groups)
    if fmt in ("soc", "toc") and ranked != n:
        raise fail(f"a .{fmt} file ranks all {n} alternatives; this line ranks {ranked}")
    return tuple(group[0] if len(group) == 1 else tuple(sorted(group)) for group in groups)


# -- the platform's export --------------------------------------------------------------------


class ExportCandidate(msgspec.Struct):
    number: int
    title: str = ""


class ExportBallot(msgspec.Struct):
    receipt_hash: str
    ballot: list[int | list[int]]


class Export(msgspec.Struct):
    poll: Any
    method: str
    seats: int
    candidates: list[ExportCandidate]
    ballots: list[ExportBallot]


def _read_export(path: Path, raw: bytes, methods: Mapping[str, VotingMethod]) -> BallotFile:
    where = path.name
    try:
        export = msgspec.json.decode(raw, type=Export)
    except msgspec.ValidationError as exc:
        raise BallotFileError(f"{where}: {exc}") from None
    except msgspec.DecodeError as exc:
        message = str(exc)
        found = re.search(r"\(byte (\d+)\)", message)
        if found:
            line = raw[: int(found[1])].count(b"\n") + 1
            message = f"line {line}: {message[: found.start()].rstrip()}"
        raise BallotFileError(f"{where}: {message}") from None
    numbers = [c.number for c in export.candidates]
    if len(set(numbers)) != len(numbers):
        raise BallotFileError(f"{where}: a candidate number is listed twice")
    if len(numbers) < 2:
        raise BallotFileError(f"{where}: a poll needs at least 2 candidates")
    method = methods.get(export.method)
    if method is None:
        raise BallotFileError(
            f'{where}: the file\'s method "{export.method}" is not installed; installed '
            f"methods: {', '.join(sorted(methods)) or 'none'}"
        )
    if not 1 <= export.seats < len(numbers):
        raise BallotFileError(
            f"{where}: seats must be at least 1 and less than the {len(numbers)} candidates; "
            f"the file says {export.seats}"
        )
    receipts: dict[str, int] = {}
    grouped: Counter[Any] = Counter()
    first_at: dict[Any, tuple[int, str]] = {}
    for number, entry in enumerate(export.ballots, start=1):
        if entry.receipt_hash in receipts:
            raise BallotFileError(
                f"{where}: ballot {number} repeats the receipt hash of ballot "
                f"{receipts[entry.receipt_hash]} ({entry.receipt_hash})"
            )
        receipts[entry.receipt_hash] = number
        key = tuple(tuple(x) if isinstance(x, list) else x for x in entry.ballot)
        grouped[key] += 1
        first_at.setdefault(key, (number, entry.receipt_hash))
    ballots: Counter[Ballot] = Counter()
    for key, count in grouped.items():  # each distinct ballot is checked once
        try:
            ballots[method.validate(list(key), numbers, export.seats)] += count
        except InvalidInput as exc:
            number, receipt = first_at[key]
            raise BallotFileError(
                f"{where}: ballot {number} (receipt {receipt}): {exc.message}"
            ) from None
    return BallotFile(
        path=str(path),
        format="json",
        kind=method.ballot_kind,
        candidates=numbers,
        names={c.number: c.title for c in export.candidates},
        ballots=ballots,
        poll=export.poll,
        method=export.method,
        seats=export.seats,
    )


# -- reading a file's ballots for a method ----------------------------------------------------


def ballots_for(file: BallotFile, method: VotingMethod, seats: int) -> Counter[Ballot]:
    """The file's ballots in the form ``method`` counts, or an error saying why they are not.

    Rankings are counted by ranked methods as they are, and by a ``choose`` method (plurality)
    as the candidates in their first ``seats`` places (a tied group that does not fit whole is
    left out). Approval ballots are counted by approval, and by a ``choose`` method when none
    chooses more than ``seats`` candidates; ``choose`` ballots are approval ballots too.
    """
    where = Path(file.path).name
    kind = method.ballot_kind
    if kind == file.kind:
        return file.ballots
    if kind == CHOOSE and file.kind == RANKED:
        chosen: Counter[Ballot] = Counter()
        for ballot, count in file.ballots.items():
            top: list[int] = []
            for item in ballot:
                group = list(item) if isinstance(item, tuple) else [item]
                if len(top) + len(group) > seats:
                    break
                top.extend(group)
            chosen[tuple(sorted(top, key=file.candidates.index))] += count
        return chosen
    if kind == APPROVAL and file.kind == CHOOSE:  # a choice of up to k is an approval
        return file.ballots
    if kind == CHOOSE and file.kind == APPROVAL:
        for ballot in file.ballots:
            if len(ballot) > seats:
                raise BallotFileError(
                    f"{where}: a ballot approves {len(ballot)} candidates, but {method.name} "
                    f"chooses at most {seats} (the seats)"
                )
        return file.ballots
    raise BallotFileError(
        f"{where}: {method.name} counts {kind} ballots, and this file holds {file.kind} ballots"
    )
