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
poll's published order with their frozen titles, the trackers of the ballot box as it stood at
closing (sorted), and the clear ballots in the shuffled order of the count: no tracker is
paired with a choice. ``ballot_list_digest`` is the digest the poll announces over all three.

Anyone may hand ``sip tally`` a file, so both readers work within ``Limits`` (candidates, ballot
lines or ballots, file size, line length, digits of a number, JSON nesting; docs/voting.md,
"Limits") and refuse anything past them, or malformed, with a ``BallotFileError``: one short
line naming the file and the line (or ballot), quoting at most ``QUOTE`` characters of it.
"""

from __future__ import annotations

import hashlib
import io
import os
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


QUOTE = 40  # an error quotes at most this many characters of the file


@dataclass(frozen=True)
class Limits:
    """What a ballot file may hold before a count refuses it (``sip tally`` raises each).

    The defaults keep the slowest count (Schulze, whose pairwise matrix costs distinct ballots x
    candidates², and its strongest paths candidates³) to a few seconds and the memory a count
    needs to a few hundred megabytes; docs/voting.md and SECURITY.md give the figures.
    """

    candidates: int = 100  # alternatives of a PrefLib file, candidates of an export
    ballots: int = 100_000  # ballot lines of a PrefLib file, ballots of an export
    file_bytes: int = 16 * 1024 * 1024
    digits: int = 18  # a count, a header's number, the sum of the counts, a candidate number

    @property
    def line_chars(self) -> int:
        """A PrefLib line's length: room for every alternative in braces (``{n}, ``)."""
        return max(4096, 32 + self.candidates * (len(str(self.candidates)) + 4))

    @property
    def largest(self) -> int:
        """The largest number a file may write: ``digits`` nines."""
        return 10**self.digits - 1


DEFAULT_LIMITS = Limits()


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
    export: Any = None  # JSON: the whole export (``published_problems`` checks it)

    def name(self, number: int) -> str:
        return self.names.get(number, "")


def quote(text: str, limit: int = QUOTE) -> str:
    """A piece of the file for an error message, quoted: at most ``limit`` characters of it,
    fewer where escapes (``\\x1f``, ``\\U00018d09``) would make the quote much longer."""
    shown = text[:limit]
    while len(repr(shown)) > limit + 12:
        shown = shown[:-1]
    return repr(shown) + ("..." if len(shown) < len(text) else "")


def read_ballot_file(
    path: str | Path,
    methods: Mapping[str, VotingMethod] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> BallotFile:
    """Read a PrefLib or JSON ballot file; ``methods`` validate a JSON export's ballots.

    Anything wrong with the file, including going past ``limits``, is a ``BallotFileError``
    naming the file (and the line) with at most a short quote of it.
    """
    path = Path(path)
    where = printable(path.name)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise BallotFileError(
            f"{where}: unknown format {quote(path.suffix) if path.suffix else '(no extension)'}; "
            "a ballot file is .soc, .soi, .toc, .toi, .cat (PrefLib) or .json (the platform's "
            "export)."
        )
    try:
        raw = _read_at_most(path, limits.file_bytes + 1)
    except OSError as exc:
        raise BallotFileError(
            f"{printable(str(path))}: cannot be read ({exc.strerror or exc})."
        ) from None
    if len(raw) > limits.file_bytes:
        raise BallotFileError(
            f"{where}: the file is larger than {_size(limits.file_bytes)}, the limit "
            "(--max-file-size raises it)"
        )
    if suffix == "json":
        return _read_export(path, raw, methods or {}, limits)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BallotFileError(f"{where}: not UTF-8 text (byte {exc.start}).") from None
    return _read_preflib(path, suffix, text, limits)


def _read_at_most(path: Path, most: int) -> bytes:
    """The file's first ``most`` bytes, read in pieces: a file (or a pipe) larger than the
    limit is never held whole, and a small one costs no more than its size."""
    chunks: list[bytes] = []
    held = 0
    with path.open("rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        step = min(1 << 20, size + 1) if size else 1 << 16
        while held < most:
            chunk = handle.read(min(step, most - held))
            if not chunk:
                break
            chunks.append(chunk)
            held += len(chunk)
    return b"".join(chunks)


def _size(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes >= 1 else f"{size:,} bytes"


# -- PrefLib ----------------------------------------------------------------------------------

# re.ASCII: \d is 0-9 only, so int() reads exactly what the patterns let through. No pattern
# nests quantifiers over the same characters, so a long line costs linear time.
KEY = re.compile(r"[A-Za-z][A-Za-z ]*")
LINE = re.compile(r"(?P<count>\d+)\s*:\s*(?P<rest>.*)", re.ASCII)
ITEM = r"(?:\d+|\{\s*(?:\d+(?:\s*,\s*\d+)*)?\s*\})"
ITEMS = re.compile(rf"\s*(?:{ITEM}(?:\s*,\s*{ITEM})*)?\s*", re.ASCII)
STRICT = re.compile(r"\s*(?:\d+(?:\s*,\s*\d+)*)?\s*", re.ASCII)  # no braces: the common case
TOKEN = re.compile(ITEM, re.ASCII)
DIGITS = re.compile(r"\d+", re.ASCII)
ASCII_DIGITS = "0123456789"
SEPARATORS = str.maketrans("", "", ", \t\r\x0b\x0c")  # what a strict order has besides digits


def _header(line: str) -> tuple[str, str | None, str] | None:
    """``# KEY [NUMBER]: value`` as (KEY normalised, NUMBER, value); None for a comment."""
    colon = line.find(":")
    if colon < 0:
        return None
    head = line[1:colon].strip()
    key = head.rstrip(ASCII_DIGITS)
    number = head[len(key) :] or None
    key = key.strip()
    if not KEY.fullmatch(key):
        return None
    return " ".join(key.upper().split()), number, line[colon + 1 :].strip()


def _read_preflib(path: Path, fmt: str, text: str, limits: Limits) -> BallotFile:
    where = printable(path.name)

    def fail(lineno: int, message: str) -> BallotFileError:
        return BallotFileError(f"{where}: line {lineno}: {message}")

    def whole(lineno: int, what: str, digits: str) -> int:
        """A number the file writes, refused past the limit before Python converts it."""
        if len(digits.lstrip("0")) > limits.digits:
            raise fail(lineno, f"{what} has more than {limits.digits} digits")
        return int(digits)

    def too_many(lineno: int, n: int) -> None:
        if n > limits.candidates:
            raise fail(
                lineno,
                f"{n:,} alternatives; the limit is {limits.candidates:,} "
                "(--max-candidates raises it)",
            )

    headers: dict[str, tuple[int, str]] = {}
    names: dict[int, str] = {}
    data: list[tuple[int, str]] = []
    lineno = 0
    # Universal newlines (\n, \r\n, \r), one line at a time: nothing is held but the data lines.
    for lineno, raw_line in enumerate(io.StringIO(text, newline=None), start=1):
        length = len(raw_line.rstrip("\n"))
        if length > limits.line_chars:
            raise fail(
                lineno,
                f"the line is {length:,} characters long; the limit is "
                f"{limits.line_chars:,} (it grows with --max-candidates)",
            )
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith("#"):
            header = _header(line)
            if header is None:
                continue  # a comment
            key, number, value = header
            if key == "ALTERNATIVE NAME" and number:
                alternative = whole(lineno, "an alternative's number", number)
                if alternative < 1 or alternative > limits.candidates:
                    raise fail(lineno, f"ALTERNATIVE NAME {alternative} is not an alternative")
                names[alternative] = value
            elif number is None:
                headers[key] = (lineno, value)
                if key == "NUMBER ALTERNATIVES" and value.isascii() and value.isdigit():
                    too_many(lineno, whole(lineno, f"'# {key}'", value))  # before reading on
            continue
        if len(data) == limits.ballots:
            raise fail(
                lineno,
                f"more than {limits.ballots:,} ballot lines, the limit (--max-ballots raises it)",
            )
        data.append((lineno, line))

    def number(key: str) -> int | None:
        if key not in headers:
            return None
        at, value = headers[key]
        if not (value.isascii() and value.isdigit()):
            raise fail(at, f"'# {key}' must be a whole number, not {quote(value)}")
        return whole(at, f"'# {key}'", value)

    if "DATA TYPE" in headers:
        at, declared = headers["DATA TYPE"]
        if declared.lower() != fmt:
            raise fail(
                at, f"the header says DATA TYPE {_clip(declared, QUOTE)} but the file is .{fmt}"
            )
    n = number("NUMBER ALTERNATIVES")
    if n is None:
        raise BallotFileError(f"{where}: no '# NUMBER ALTERNATIVES: n' header line")
    if n < 2:
        raise BallotFileError(f"{where}: a poll needs at least 2 alternatives, the file has {n}")
    too_many(headers["NUMBER ALTERNATIVES"][0], n)
    for alternative in names:
        if not 1 <= alternative <= n:
            raise BallotFileError(
                f"{where}: ALTERNATIVE NAME {alternative} is not one of the {n} alternatives"
            )
    categories = number("NUMBER CATEGORIES") if fmt == "cat" else None
    alternatives = list(range(n + 1))  # one int object per alternative, shared by every ballot

    ballots: Counter[Ballot] = Counter()
    counted = 0
    for lineno, line in data:
        match = LINE.fullmatch(line)
        if not match:
            raise fail(
                lineno,
                f"expected 'count: preferences' (like '3: 1,{{2,4}},3'), got {quote(line)}",
            )
        count = whole(lineno, "the count of voters", match["count"])
        if count < 1:
            raise fail(lineno, "the count of voters must be at least 1")
        counted += count
        if counted > limits.largest:
            raise fail(lineno, f"the counts add up to more than {limits.digits} digits")
        rest = match["rest"]
        braces = "{" in rest

        def unreadable(rest: str = rest, lineno: int = lineno) -> BallotFileError:
            return fail(
                lineno,
                f"cannot read {quote(rest)}: expected alternative numbers separated by "
                "commas, tied ones in braces like {2,4}",
            )

        # int() reads a whole line at C speed what the checks let through: ASCII digits (a
        # number of thousands of digits, past what int() converts, is no alternative either).
        try:
            if braces:
                if not ITEMS.fullmatch(rest):
                    raise unreadable()
                groups = [list(map(int, DIGITS.findall(token))) for token in TOKEN.findall(rest)]
                listed = [alternative for group in groups for alternative in group]
            elif not rest.strip():
                groups, listed = [], []
            elif rest.isascii() and rest.translate(SEPARATORS).isdigit():
                groups, listed = [], list(map(int, rest.split(",")))  # "1,,2" fails here
            else:
                raise unreadable()
        except ValueError:
            if not (ITEMS if braces else STRICT).fullmatch(rest):
                raise unreadable() from None
            raise fail(lineno, f"an alternative's number is far beyond {n}") from None
        if listed and (min(listed) < 1 or max(listed) > n):
            wrong = str(next(a for a in listed if not 1 <= a <= n))
            shown = wrong if len(wrong) <= 20 else wrong[:20] + "..."
            raise fail(lineno, f"alternative {shown} is not between 1 and {n}")
        if len(set(listed)) != len(listed):
            seen: set[int] = set()
            for alternative in listed:
                if alternative in seen:
                    raise fail(lineno, f"alternative {alternative} appears twice")
                seen.add(alternative)
        if fmt == "cat":
            groups = groups if braces else [[a] for a in listed]
            if categories is not None and len(groups) != categories:
                raise fail(lineno, f"{len(groups)} categories, but the header says {categories}")
            ballot: Ballot = (
                tuple(sorted(map(alternatives.__getitem__, groups[0]))) if groups else ()
            )
        elif braces:
            ballot = _ranking(fmt, groups, n, lambda message, at=lineno: fail(at, message))
        else:  # a strict order: the common case, no groups to build
            if fmt in ("soc", "toc") and len(listed) != n:
                raise fail(
                    lineno,
                    f"a .{fmt} file ranks all {n} alternatives; this line ranks {len(listed)}",
                )
            ballot = tuple(map(alternatives.__getitem__, listed))
        ballots[ballot] += count

    voters = number("NUMBER VOTERS")
    if voters is not None and voters != counted:
        raise BallotFileError(
            f"{where}: the header says {voters} voters but the lines count {counted}"
        )
    return BallotFile(
        path=str(path),
        format=fmt,
        kind=APPROVAL if fmt == "cat" else RANKED,
        candidates=alternatives[1:],
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
    titles: dict[str, str] = {}


class ExportCounts(msgspec.Struct):
    participations: int
    trackers: int
    ballots: int


class Export(msgspec.Struct):
    poll: Any
    method: str
    seats: int
    candidates: list[ExportCandidate]
    ballots: list[list[int | list[int]]]
    trackers: list[str] = []
    counts: ExportCounts | None = None
    result: Any = None  # the announced result: ``{"winners": [...]}`` (``sip verify`` reads it)


def ballot_list_digest(
    candidates: list[tuple[int, dict[str, str]]], trackers: list[str], ballots: list[Any]
) -> str:
    """The SHA-256 (hex) a poll announces over what it publishes: each candidate's number and
    titles in every language, the sorted trackers, and the clear ballots in their order."""
    body = {
        "candidates": [[number, titles] for number, titles in candidates],
        "trackers": trackers,
        "ballots": ballots,
    }
    return hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()


TRACKER = re.compile(r"[0-9a-f]{64}")


def published_problems(export: Export) -> list[str]:
    """What does not hold in a published list: the counts that tie the trackers, the
    participations and the clear ballots together, and the digest the poll announces."""
    problems = []
    trackers, ballots = export.trackers, export.ballots
    counts = export.counts
    if counts is None:
        return ["the file has no counts of trackers, participations and ballots"]
    if len(trackers) != counts.trackers:
        problems.append(f"{len(trackers)} trackers are listed; the counts say {counts.trackers}")
    if len(ballots) != counts.ballots:
        problems.append(f"{len(ballots)} ballots are listed; the counts say {counts.ballots}")
    sealed = bool(export.poll.get("sealed", True)) if isinstance(export.poll, dict) else True
    if sealed and not len(trackers) == counts.participations == len(ballots):
        problems.append(
            f"trackers ({len(trackers)}), participations ({counts.participations}) and "
            f"ballots ({len(ballots)}) differ"
        )
    for candidate in export.candidates:
        if candidate.titles and candidate.title not in candidate.titles.values():
            problems.append(
                f"candidate {candidate.number}'s title is not one of its titles frozen at opening"
            )
    if len(set(trackers)) != len(trackers):
        problems.append("a tracker is listed twice")
    if any(not TRACKER.fullmatch(t) for t in trackers):
        problems.append("a tracker is not 64 hexadecimal digits")
    announced = export.poll.get("ballots_digest") if isinstance(export.poll, dict) else None
    digest = ballot_list_digest(
        [(c.number, c.titles) for c in export.candidates], trackers, ballots
    )
    if announced != digest:
        shown = announced if isinstance(announced, str | None) else repr(announced)
        problems.append(
            "the digest of the candidates, trackers and ballots is "
            f"{digest}; the poll announced {_clip(str(shown), 80)}"
        )
    return problems


def _depth(value: Any, limit: int) -> bool:
    """Is ``value`` (decoded JSON) nested deeper than ``limit``? Iterative: no recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _read_export(
    path: Path, raw: bytes, methods: Mapping[str, VotingMethod], limits: Limits
) -> BallotFile:
    where = printable(path.name)
    try:
        export = msgspec.json.decode(raw, type=Export)
    except msgspec.ValidationError as exc:
        raise BallotFileError(f"{where}: {_clip(str(exc))}") from None
    except msgspec.DecodeError as exc:
        message = str(exc)
        found = re.search(r"\(byte (\d+)\)", message)
        if found:
            line = raw[: int(found[1])].count(b"\n") + 1
            message = f"line {line}: {message[: found.start()].rstrip()}"
        raise BallotFileError(f"{where}: {_clip(message)}") from None
    except RecursionError:
        raise BallotFileError(f"{where}: the JSON is nested too deeply") from None
    if _depth(export.poll, 32) or _depth(export.result, 32):
        raise BallotFileError(f"{where}: the JSON is nested too deeply")
    numbers = [c.number for c in export.candidates]
    if len(numbers) > limits.candidates:
        raise BallotFileError(
            f"{where}: {len(numbers):,} candidates; the limit is {limits.candidates:,} "
            "(--max-candidates raises it)"
        )
    if len(export.ballots) > limits.ballots:
        raise BallotFileError(
            f"{where}: {len(export.ballots):,} ballots; the limit is {limits.ballots:,} "
            "(--max-ballots raises it)"
        )
    if any(abs(number) > limits.largest for number in numbers):
        raise BallotFileError(f"{where}: a candidate number has more than {limits.digits} digits")
    if len(set(numbers)) != len(numbers):
        raise BallotFileError(f"{where}: a candidate number is listed twice")
    if len(numbers) < 2:
        raise BallotFileError(f"{where}: a poll needs at least 2 candidates")
    method = methods.get(export.method)
    if method is None:
        raise BallotFileError(
            f'{where}: the file\'s method "{_clip(export.method, QUOTE)}" is not installed; '
            f"installed methods: {', '.join(sorted(methods)) or 'none'}"
        )
    if not 1 <= export.seats < len(numbers):
        raise BallotFileError(
            f"{where}: seats must be at least 1 and less than the {len(numbers)} candidates; "
            f"the file says {_clip(str(export.seats), QUOTE)}"
        )
    grouped: Counter[Any] = Counter()
    first_at: dict[Any, int] = {}
    for number, entry in enumerate(export.ballots, start=1):
        key = tuple(tuple(x) if isinstance(x, list) else x for x in entry)
        grouped[key] += 1
        first_at.setdefault(key, number)
    ballots: Counter[Ballot] = Counter()
    for key, count in grouped.items():  # each distinct ballot is checked once
        try:
            ballots[method.validate(list(key), numbers, export.seats)] += count
        except InvalidInput as exc:
            raise BallotFileError(
                f"{where}: ballot {first_at[key]}: {_clip(exc.message)}"
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
        export=export,
    )


def _clip(message: str, limit: int = 160) -> str:
    """A message that may hold a piece of the file (a number, a name), printable and cut to
    ``limit``."""
    message = printable(message)
    return message if len(message) <= limit else message[:limit] + "..."


def printable(text: str) -> str:
    """``text`` with control and other unprintable characters escaped (``\\x1b``): what a
    file says is shown on a terminal, never acted on by it."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# -- reading a file's ballots for a method ----------------------------------------------------


def ballots_for(file: BallotFile, method: VotingMethod, seats: int) -> Counter[Ballot]:
    """The file's ballots in the form ``method`` counts, or an error saying why they are not.

    Rankings are counted by ranked methods as they are, and by a ``choose`` method (plurality)
    as the candidates in their first ``seats`` places (a tied group that does not fit whole is
    left out). Approval ballots are counted by approval, and by a ``choose`` method when none
    chooses more than ``seats`` candidates; ``choose`` ballots are approval ballots too.
    """
    where = printable(Path(file.path).name)
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
