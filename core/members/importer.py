"""Import the member register from CSV.

All or nothing: every row is checked first; one bad row and nothing is written, and every bad
row is reported with its line number and reason. Importing the same file again changes nothing.

Reasons are written in the language of the request (operators read them on the import page and
in the API's ``errors``); the ``sip`` command has no request, so it gets English. Column names
and values from the file are quoted as they are, untranslated.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from core import clock, db
from core.audit import services as audit
from core.config import COUNTRIES, LANGUAGES
from core.errors import Conflict
from core.i18n import _
from core.members.tables import Member

COLUMNS = ("member_number", "email", "name", "country", "language", "shareholder")
TRUE_WORDS = {"1", "true", "yes", "y", "ja", "oui", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "nee", "non", ""}
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
CHUNK = 500
WRITE_CHUNK = 5000  # new members per statement batch (and progress step)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class MemberRow:
    line: int
    member_number: str
    email: str
    name: str
    country: str
    language: str
    shareholder: bool

    def values(self) -> tuple[str, str, str, str, bool]:
        return (self.email, self.name, self.country, self.language, self.shareholder)


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    by_country: dict[str, tuple[int, int]] = field(default_factory=dict)  # created, updated

    @property
    def ok(self) -> bool:
        return not self.errors


def decode(data: bytes) -> str:
    """The file's text; a byte that is not UTF-8 is reported by line and byte in the file."""
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    try:
        return data[len(bom) :].decode("utf-8")
    except UnicodeDecodeError as exc:
        position = len(bom) + exc.start
        line = data[:position].count(b"\n") + 1
        raise ValueError(
            _("the file is not UTF-8 text (line %(line)d, byte %(byte)d); save it as CSV UTF-8")
            % {"line": line, "byte": position + 1}
        ) from None


def joined(reasons: list[str]) -> str:
    """Several problems of one line (or of the header) as one reason: "a; b; c"."""
    text = reasons[0]
    for reason in reasons[1:]:
        text = _("%(reasons)s; %(reason)s") % {"reasons": text, "reason": reason}
    return text


def parse(text: str) -> tuple[list[MemberRow], list[RowError]]:
    """Check the header and every row; return the good rows and every problem found."""
    if not text.strip():
        return [], [
            RowError(
                1,
                _("the file is empty; expected a header: %(columns)s")
                % {"columns": ",".join(COLUMNS)},
            )
        ]
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        return [], [RowError(1, _("unreadable header: %(error)s") % {"error": exc})]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if missing or unknown or duplicated:
        parts = []
        if missing:
            parts.append(_("missing column(s): %(columns)s") % {"columns": ", ".join(missing)})
        if unknown:
            # An empty name is usually a separator left at the end of the header line.
            names = ", ".join(h or _("(a column without a name)") for h in unknown)
            parts.append(_("unknown column(s): %(columns)s") % {"columns": names})
        if duplicated:
            parts.append(_("repeated column(s): %(columns)s") % {"columns": ", ".join(duplicated)})
        parts.append(_("expected: %(columns)s") % {"columns": ",".join(COLUMNS)})
        return [], [RowError(1, joined(parts))]
    index = {name: header.index(name) for name in COLUMNS}

    rows: list[MemberRow] = []
    errors: list[RowError] = []
    seen_numbers: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The reader starts afresh on the next line: keep going, so every bad row is listed.
            errors.append(RowError(start, _("unreadable row: %(error)s") % {"error": exc}))
            continue
        line = start
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            errors.append(
                RowError(
                    line,
                    _("expected %(expected)d fields, found %(found)d")
                    % {"expected": len(header), "found": len(record)},
                )
            )
            continue
        cell = {name: record[i].strip() for name, i in index.items()}
        reasons: list[str] = []
        number = cell["member_number"]
        if not number:
            reasons.append(_("member_number is empty"))
        elif len(number) > 32:
            reasons.append(_("member_number is longer than %(n)d characters") % {"n": 32})
        elif number in seen_numbers:
            reasons.append(
                _("member_number %(number)s already on line %(line)d")
                % {"number": number, "line": seen_numbers[number]}
            )
        email = cell["email"].lower()
        if not EMAIL.match(email) or len(email) > 254:
            reasons.append(
                _("email %(value)s is not an email address") % {"value": repr(cell["email"])}
            )
        elif email in seen_emails:
            reasons.append(
                _("email %(email)s already on line %(line)d")
                % {"email": email, "line": seen_emails[email]}
            )
        if not cell["name"]:
            reasons.append(_("name is empty"))
        elif len(cell["name"]) > 200:
            reasons.append(_("name is longer than %(n)d characters") % {"n": 200})
        country = cell["country"].upper()
        if country not in COUNTRIES:
            reasons.append(
                _("country %(value)s is not one of %(choices)s")
                % {"value": repr(cell["country"]), "choices": ", ".join(COUNTRIES)}
            )
        language = cell["language"].lower()
        if language not in LANGUAGES:
            reasons.append(
                _("language %(value)s is not one of %(choices)s")
                % {"value": repr(cell["language"]), "choices": ", ".join(LANGUAGES)}
            )
        flag = cell["shareholder"].lower()
        if flag not in TRUE_WORDS | FALSE_WORDS:
            reasons.append(
                _("shareholder %(value)s is not yes/no (or 1/0)")
                % {"value": repr(cell["shareholder"])}
            )
        if reasons:
            errors.append(RowError(line, joined(reasons)))
            continue
        seen_numbers[number] = line
        seen_emails[email] = line
        rows.append(
            MemberRow(line, number, email, cell["name"], country, language, flag in TRUE_WORDS)
        )
    return rows, errors


async def import_members(
    text: str,
    *,
    allowed_countries: list[str] | None = None,
    progress: Progress | None = None,
    actor: audit.Actor | None = None,
) -> ImportReport:
    """Check, then write everything in one transaction, or nothing.

    ``allowed_countries`` limits an operator to their countries' members (None: all). With
    an ``actor`` each country whose members changed gets an audit entry, in the transaction.
    """
    rows, errors = parse(text)
    report = ImportReport(rows=len(rows) + len(errors), errors=errors)
    if progress:
        progress("checked", len(rows), len(rows))
    if allowed_countries is not None:
        refused = [row for row in rows if row.country not in allowed_countries]
        for row in refused:
            errors.append(
                RowError(
                    row.line,
                    _("you are not an operator for country %(country)s") % {"country": row.country},
                )
            )
        # One reason per row: a refused row is not checked again below (nor counted twice).
        rows = [row for row in rows if row.country in allowed_countries]
    try:
        return await _write(rows, errors, report, allowed_countries, progress, actor)
    except Exception as exc:
        if db.is_unique_violation(exc):
            # Another import wrote the same member between our read and our write.
            raise Conflict(
                _(
                    "another change to the member register happened at the same time; "
                    "nothing was imported, try again"
                )
            ) from None
        raise


async def _write(
    rows: list[MemberRow],
    errors: list[RowError],
    report: ImportReport,
    allowed_countries: list[str] | None,
    progress: Progress | None,
    actor: audit.Actor | None = None,
) -> ImportReport:
    async with db.write_transaction():
        existing = {
            r["member_number"]: r
            for r in await Member.select(
                Member.id,
                Member.member_number,
                Member.email,
                Member.name,
                Member.country,
                Member.language,
                Member.shareholder,
            )
        }
        owner_of_email = {r["email"]: number for number, r in existing.items()}
        to_create: list[MemberRow] = []
        to_update: list[tuple[int, MemberRow]] = []
        for row in rows:
            owner = owner_of_email.get(row.email)
            if owner is not None and owner != row.member_number:
                errors.append(
                    RowError(
                        row.line,
                        _("email %(email)s belongs to member %(number)s already")
                        % {"email": row.email, "number": owner},
                    )
                )
                continue
            current = existing.get(row.member_number)
            if current is None:
                to_create.append(row)
                continue
            if allowed_countries is not None and current["country"] not in allowed_countries:
                errors.append(
                    RowError(
                        row.line,
                        _("member %(number)s belongs to %(country)s, which you do not operate")
                        % {"number": row.member_number, "country": current["country"]},
                    )
                )
                continue
            before = (
                current["email"],
                current["name"],
                current["country"],
                current["language"],
                bool(current["shareholder"]),
            )
            if before == row.values():
                report.unchanged += 1
            else:
                to_update.append((current["id"], row))
        if errors:
            errors.sort(key=lambda e: e.line)
            report.unchanged = 0
            return report

        total = len(to_create) + len(to_update)
        done = 0
        created_at = clock.now()
        for start in range(0, len(to_create), WRITE_CHUNK):
            chunk = to_create[start : start + WRITE_CHUNK]
            await db.insert_many(
                "member",
                ("member_number", "email", "name", "country", "language", "shareholder")
                + ("created_at",),
                [(r.member_number, *r.values(), created_at) for r in chunk],
            )
            done += len(chunk)
            if progress:
                progress("written", done, total)
        for member_id, r in to_update:
            await Member.update(
                {
                    Member.email: r.email,
                    Member.name: r.name,
                    Member.country: r.country,
                    Member.language: r.language,
                    Member.shareholder: r.shareholder,
                }
            ).where(Member.id == member_id)
            done += 1
            if progress and done % CHUNK == 0:
                progress("written", done, total)
        if progress:
            progress("written", total, total)
        report.created = len(to_create)
        report.updated = len(to_update)
        for r in to_create:
            c, u = report.by_country.get(r.country, (0, 0))
            report.by_country[r.country] = (c + 1, u)
        for _id, r in to_update:
            c, u = report.by_country.get(r.country, (0, 0))
            report.by_country[r.country] = (c, u + 1)
        if actor is not None:
            for country, (created, updated) in sorted(report.by_country.items()):
                await audit.record(
                    "member.import",
                    actor=actor,
                    country=country,
                    object_type="member_register",
                    object_id=country,
                    details={"created": created, "updated": updated},
                )
    return report
