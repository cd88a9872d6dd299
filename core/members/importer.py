"""Import the member register from CSV.

All or nothing: every row is checked first; one bad row and nothing is written, and every bad
row is reported with its line number and reason. Importing the same file again changes nothing.

Reasons are written in the language of the request (operators read them on the import page and
in the API's ``errors``); the ``sip`` command has no request, so it gets English. Column names
and values from the file are quoted as they are, untranslated (cut short when long).

The file is read and checked in a worker thread, so a large one (100,000 rows, or as many bad
ones) does not hold up the server's other requests; only the database work runs on the event
loop. A report lists the first ``MAX_ERRORS`` problems by line and counts them all, so that
its size does not grow with the file.

Text fields (member number, email, name) refuse line breaks, tabs, NUL and every other control
or invisible formatting character (Unicode Cc, Cf, Zl, Zp): they break the CSV the platform
writes, the log, and the pages. A name starting with ``=``, ``+``, ``-`` or ``@`` is stored as
it is: it is harmless everywhere but in a spreadsheet, and every CSV the platform writes
neutralises it (``core.spreadsheets``).

A member's email address is how they sign in (links are sent to it), so changing it is
guarded: an operator's import cannot change the address of a member who holds a role
(operator, board, teller), only the board's or the command line's can; a change ends the
member's sessions and unused sign-in links, is audited with both addresses, and notifies the
old address through the outbox.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core import clock, db
from core.audit import services as audit
from core.auth.tables import SignInToken, WebSession
from core.config import COUNTRIES, LANGUAGES
from core.errors import Conflict, Forbidden, NotFound
from core.events import EmailChanged
from core.i18n import _
from core.members.model import CurrentMember
from core.members.tables import (
    IMPORT_CANCELLED,
    IMPORT_CONFIRMED,
    IMPORT_PENDING,
    ROLE_BOARD,
    ROLE_OPERATOR,
    ROLE_TELLER,
    ROLES,
    Member,
    MemberRole,
    RegisterImport,
)
from core.rules import Rules

if TYPE_CHECKING:
    from core.config import Settings
    from core.plugins import PluginRegistry

COLUMNS = ("member_number", "email", "name", "country", "language", "shareholder")
TRUE_WORDS = {"1", "true", "yes", "y", "ja", "oui", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "nee", "non", ""}
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
CHUNK = 500
MAX_ERRORS = 100  # problems a report lists (the first ones, by line); it counts them all
SHOWN_CHARS = 60  # characters of a value from the file that a reason quotes
SHOWN_COLUMNS = 10  # unknown or repeated header names a reason lists
AUDITED_MEMBERS = 1000  # members one ``member.import`` audit entry lists
FIELDS = ("email", "name", "country", "language", "shareholder")  # as MemberRow.values()
# Unicode categories a text field may not hold: controls (NUL, tab, line feed...), invisible
# formatting characters (zero-width, bidirectional overrides, BOM) and line/paragraph breaks.
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
WRITE_CHUNK = 5000  # new members per statement batch (and progress step)
# Whoever holds one of these roles can act for others (or count their votes): only the board
# changes their email address, so an operator cannot sign in as one through a sign-in link.
GUARDED_ROLES = (ROLE_OPERATOR, ROLE_BOARD, ROLE_TELLER)

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
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERRORS, by line
    by_country: dict[str, tuple[int, int]] = field(default_factory=dict)  # created, updated
    error_count: int = 0  # every problem found, listed or not
    left: int = 0  # members marked as having left (a full register)
    returned: int = 0  # members who had left, listed again: reactivated

    @property
    def ok(self) -> bool:
        return not self.errors and not self.error_count

    @property
    def more_errors(self) -> int:
        """Problems found but not listed."""
        return max(self.error_count - len(self.errors), 0)


def quoted(value: str) -> str:
    """A value from the file as a reason quotes it: ``repr``, cut short when long."""
    if len(value) > SHOWN_CHARS:
        return repr(value[:SHOWN_CHARS]) + "…"
    return repr(value)


def listed(names: list[str]) -> str:
    """Column names from the header, as a reason lists them: a few, each cut short."""
    shown = [name[:SHOWN_CHARS] for name in names[:SHOWN_COLUMNS]]
    if len(names) > SHOWN_COLUMNS:
        shown.append("…")
    return ", ".join(shown)


def control_character(value: str) -> str | None:
    """The first control or invisible formatting character in ``value``, as "U+000A"."""
    if value.isprintable():  # the fast path: no Cc, Cf, Zl, Zp (nor other oddities) at all
        return None
    for char in value:
        if unicodedata.category(char) in CONTROL_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None  # only spaces other than " " (no-break, thin...), which are fine


def control_reason(column: str, value: str) -> str | None:
    code = control_character(value)
    if code is None:
        return None
    return _("%(column)s contains a line break, tab or other control character (%(code)s)") % {
        "column": column,
        "code": code,
    }


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
    first_line = text[:65536].splitlines()[0]  # not the whole file's lines: only the header's
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
            names = listed([h or _("(a column without a name)") for h in unknown])
            parts.append(_("unknown column(s): %(columns)s") % {"columns": names})
        if duplicated:
            parts.append(_("repeated column(s): %(columns)s") % {"columns": listed(duplicated)})
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
        number_control = control_reason("member_number", number)
        if number_control:
            reasons.append(number_control)
        elif not number:
            reasons.append(_("member_number is empty"))
        elif len(number) > 32:
            reasons.append(_("member_number is longer than %(n)d characters") % {"n": 32})
        elif number in seen_numbers:
            reasons.append(
                _("member_number %(number)s already on line %(line)d")
                % {"number": number, "line": seen_numbers[number]}
            )
        email = cell["email"].lower()
        email_control = control_reason("email", email)
        if email_control:
            reasons.append(email_control)
        elif not EMAIL.match(email) or len(email) > 254:
            reasons.append(
                _("email %(value)s is not an email address") % {"value": quoted(cell["email"])}
            )
        elif email in seen_emails:
            reasons.append(
                _("email %(email)s already on line %(line)d")
                % {"email": email, "line": seen_emails[email]}
            )
        name_control = control_reason("name", cell["name"])
        if name_control:
            reasons.append(name_control)
        elif not cell["name"]:
            reasons.append(_("name is empty"))
        elif len(cell["name"]) > 200:
            reasons.append(_("name is longer than %(n)d characters") % {"n": 200})
        country = cell["country"].upper()
        if country not in COUNTRIES:
            reasons.append(
                _("country %(value)s is not one of %(choices)s")
                % {"value": quoted(cell["country"]), "choices": ", ".join(COUNTRIES)}
            )
        language = cell["language"].lower()
        if language not in LANGUAGES:
            reasons.append(
                _("language %(value)s is not one of %(choices)s")
                % {"value": quoted(cell["language"]), "choices": ", ".join(LANGUAGES)}
            )
        flag = cell["shareholder"].lower()
        if flag not in TRUE_WORDS | FALSE_WORDS:
            reasons.append(
                _("shareholder %(value)s is not yes/no (or 1/0)")
                % {"value": quoted(cell["shareholder"])}
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
    registry: PluginRegistry | None = None,
    settings: Settings | None = None,
) -> ImportReport:
    """Check, then write everything in one transaction, or nothing.

    ``allowed_countries`` limits an operator to their countries' members (None: all). With
    an ``actor`` each country whose members changed gets an audit entry naming them and their
    changed fields (``audit_details``), and each changed email address one of its own, in the
    transaction; a member ``actor`` who is not on the
    board cannot change the email address of a member who holds a role. With ``registry``
    and ``settings`` each changed address is notified, through the outbox, at the old one.
    """
    # CPU work (reading and checking every row) in a worker thread, database work here.
    # ``to_thread`` carries the context over: reasons are in the request's language.
    checked = await asyncio.to_thread(check, text, allowed_countries)
    rows, errors = checked.rows, checked.errors
    report = ImportReport(rows=checked.count)
    if progress:
        progress("checked", checked.good, checked.good)
    notify = _Notify(registry, settings) if registry is not None and settings is not None else None
    try:
        if rows:  # else there is nothing to compare with the register, nor to write
            await _write(rows, errors, report, allowed_countries, progress, actor, notify)
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
    if errors:
        report.error_count = len(errors)
        report.errors = await asyncio.to_thread(first_errors, errors)
    return report


@dataclass(frozen=True)
class Checked:
    rows: list[MemberRow]  # the rows to write
    errors: list[RowError]  # every problem, in the order found
    count: int  # rows in the file (good and bad)
    good: int  # rows that passed the file's own checks


def check(text: str, allowed_countries: list[str] | None = None) -> Checked:
    """Read and check the file (no database): run in a worker thread, it can take seconds."""
    rows, errors = parse(text)
    count, good = len(rows) + len(errors), len(rows)
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
    return Checked(rows, errors, count, good)


def first_errors(errors: list[RowError]) -> list[RowError]:
    """The first ``MAX_ERRORS`` problems by line (one line has one reason)."""
    errors.sort(key=lambda e: e.line)
    return errors[:MAX_ERRORS]


@dataclass
class Plan:
    """What an import would do to the register as it stands: worked out in a worker thread."""

    to_create: list[MemberRow] = field(default_factory=list)
    to_update: list[tuple[int, MemberRow]] = field(default_factory=list)
    email_changes: list[EmailChange] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    by_country: dict[str, tuple[int, int]] = field(default_factory=dict)  # created, updated
    # country -> (line, member number, changed field names; None for a new member)
    changes: dict[str, list[tuple[int, str, tuple[str, ...] | None]]] = field(default_factory=dict)


def plan(
    rows: list[MemberRow],
    current_rows: list[dict[str, Any]],
    allowed_countries: list[str] | None,
) -> Plan:
    """Compare the checked rows with the register (``current_rows``, every member)."""
    existing = {r["member_number"]: r for r in current_rows}
    owner_of_email = {r["email"]: number for number, r in existing.items()}
    result = Plan()
    changed_fields: dict[int, tuple[str, ...]] = {}
    for row in rows:
        owner = owner_of_email.get(row.email)
        if owner is not None and owner != row.member_number:
            result.errors.append(
                RowError(
                    row.line,
                    _("email %(email)s belongs to member %(number)s already")
                    % {"email": row.email, "number": owner},
                )
            )
            continue
        current = existing.get(row.member_number)
        if current is None:
            result.to_create.append(row)
            continue
        if allowed_countries is not None and current["country"] not in allowed_countries:
            result.errors.append(
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
            result.unchanged += 1
            continue
        result.to_update.append((current["id"], row))
        changed_fields[row.line] = tuple(
            name for name, old, new in zip(FIELDS, before, row.values(), strict=True) if old != new
        )
        if current["email"] != row.email:
            result.email_changes.append(
                EmailChange(current["id"], row, current["email"], current["country"])
            )
    for r in result.to_create:
        c, u = result.by_country.get(r.country, (0, 0))
        result.by_country[r.country] = (c + 1, u)
    for _id, r in result.to_update:
        c, u = result.by_country.get(r.country, (0, 0))
        result.by_country[r.country] = (c, u + 1)
    changes = [(r.line, r.country, r.member_number, None) for r in result.to_create] + [
        (r.line, r.country, r.member_number, changed_fields[r.line]) for _id, r in result.to_update
    ]
    for line, country, number, names in sorted(changes, key=lambda c: c[0]):
        result.changes.setdefault(country, []).append((line, number, names))
    return result


def audit_details(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    """The ``member.import`` entries of an import, as (country, details).

    One entry per country, listing the members it created (``new``, their member numbers) and
    the ones it changed (``changed``: member number -> names of the changed fields; never the
    values, the email change entries have the addresses). A country with more than
    ``AUDITED_MEMBERS`` members in the import gets one entry per ``AUDITED_MEMBERS``, marked
    ``part``/``parts``, so no entry grows with the file; ``created`` and ``updated`` count the
    members of their own entry (their sum over the entries is the import's count).
    """
    entries = []
    for country, members in sorted(plan.changes.items()):
        parts = [
            members[start : start + AUDITED_MEMBERS]
            for start in range(0, len(members), AUDITED_MEMBERS)
        ]
        for index, part in enumerate(parts, start=1):
            new = [number for _line, number, names in part if names is None]
            changed = {number: list(names) for _line, number, names in part if names is not None}
            details: dict[str, Any] = {"created": len(new), "updated": len(changed)}
            if new:
                details["new"] = new
            if changed:
                details["changed"] = changed
            if len(parts) > 1:
                details["part"] = index
                details["parts"] = len(parts)
            entries.append((country, details))
    return entries


@dataclass(frozen=True)
class _Notify:
    registry: PluginRegistry
    settings: Settings

    async def __call__(self, event: EmailChanged) -> None:
        await Rules(self.registry, self.settings).notify(event)


@dataclass(frozen=True)
class EmailChange:
    member_id: int
    row: MemberRow
    old_email: str
    old_country: str


def board_or_command_line(actor: audit.Actor | None) -> bool:
    """Whether ``actor`` may change the email address of a member who holds a role: the
    board, or the command line (someone at the server); a call without an actor too."""
    return not isinstance(actor, CurrentMember) or actor.is_board


async def guarded_roles(member_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """The roles among ``GUARDED_ROLES`` each of these members holds (members without any
    are left out)."""
    held: dict[int, list[tuple[str, str]]] = {}
    for start in range(0, len(member_ids), CHUNK):
        rows = await MemberRole.select(
            MemberRole.member, MemberRole.role, MemberRole.country
        ).where(
            MemberRole.member.is_in(member_ids[start : start + CHUNK])
            & MemberRole.role.is_in(list(GUARDED_ROLES))
        )
        for r in rows:
            held.setdefault(r["member"], []).append((r["role"], r["country"]))
    return held


def role_names(roles: list[tuple[str, str]]) -> str:
    """The roles, as "board, operator BE", in the reader's language."""
    return ", ".join(
        sorted(f"{_(audit.ROLES.get(role, role))} {country}".strip() for role, country in roles)
    )


async def end_sign_ins(member_ids: list[int]) -> None:
    """End the members' sessions and their sign-in links not used yet: whoever signed in
    through the old address, or holds a link sent to it, is out."""
    for start in range(0, len(member_ids), CHUNK):
        chunk = member_ids[start : start + CHUNK]
        await WebSession.delete().where(WebSession.member.is_in(chunk))
        await SignInToken.delete().where(
            SignInToken.member.is_in(chunk) & SignInToken.used_at.is_null()
        )


async def _write(
    rows: list[MemberRow],
    errors: list[RowError],
    report: ImportReport,
    allowed_countries: list[str] | None,
    progress: Progress | None,
    actor: audit.Actor | None = None,
    notify: _Notify | None = None,
    *,
    full: list[str] | None = None,
    confirming: RegisterImportInfo | None = None,
) -> ImportReport:
    """Plan and write the import in one write transaction. ``full`` (the countries a full
    register covers) marks the members of those countries absent from the file as having
    left. ``confirming`` is the preview being confirmed: its state moves from pending to
    confirmed first (refused if it is not pending), and the whole transaction is undone if
    the register no longer gives the preview's figures."""
    async with db.write_transaction():
        if confirming is not None:
            await _mark_decided(confirming, IMPORT_CONFIRMED, actor)
        current_rows = await _register_rows()
        work = await asyncio.to_thread(plan, rows, current_rows, allowed_countries)
        moves = await asyncio.to_thread(sweep, rows, current_rows, full)
        errors.extend(work.errors)
        to_create, to_update, email_changes = work.to_create, work.to_update, work.email_changes
        report.unchanged = work.unchanged
        holders = await guarded_roles([c.member_id for c in email_changes])
        errors.extend(guard_errors(email_changes, holders, actor))
        if errors:
            report.unchanged = 0
            if confirming is not None:  # undo the confirmation: nothing changes
                raise changed_since_preview()
            return report
        if confirming is not None and figures(work, moves) != confirming.figures:
            raise changed_since_preview()

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
        report.by_country = work.by_country
        moment = clock.now()
        for start in range(0, len(moves.leaving), CHUNK):
            chunk = [member_id for member_id, _n, _c in moves.leaving[start : start + CHUNK]]
            await Member.update({Member.left_at: moment}).where(Member.id.is_in(chunk))
        for start in range(0, len(moves.returning), CHUNK):
            chunk = [member_id for member_id, _n, _c in moves.returning[start : start + CHUNK]]
            await Member.update({Member.left_at: None}).where(Member.id.is_in(chunk))
        report.left = len(moves.leaving)
        report.returned = len(moves.returning)
        await end_sign_ins(
            [c.member_id for c in email_changes] + [m for m, _n, _c in moves.leaving]
        )
        for change in email_changes:
            if notify is not None:
                await notify(
                    EmailChanged(
                        country=change.row.country,
                        member_id=change.member_id,
                        old_email=change.old_email,
                        change=secrets.token_hex(8),
                    )
                )
        if actor is not None:
            for change in email_changes:
                await audit.record(
                    "member.email.change",
                    actor=actor,
                    country=f"{change.old_country} {change.row.country}",
                    object_type="member",
                    object_id=change.member_id,
                    personal={
                        change.member_id: {
                            "member_number": change.row.member_number,
                            "old": change.old_email,
                            "new": change.row.email,
                        }
                    },
                    role=_acting_role(actor, change.member_id in holders),
                )
            for country, details in audit_details(work):
                await audit.record(
                    "member.import",
                    actor=actor,
                    country=country,
                    object_type="member_register",
                    object_id=country,
                    details=details,
                    by_member_number=("new", "changed"),
                )
            for action, key, members in (
                ("member.left", "left", moves.leaving),
                ("member.returned", "returned", moves.returning),
            ):
                for country, numbers in _by_country(members):
                    for start in range(0, len(numbers), AUDITED_MEMBERS):
                        part = numbers[start : start + AUDITED_MEMBERS]
                        await audit.record(
                            action,
                            actor=actor,
                            country=country,
                            object_type="member_register",
                            object_id=country,
                            details={"count": len(part), key: part},
                            by_member_number=(key,),
                        )
            if confirming is not None:
                await audit.record(
                    "member.import.confirm",
                    actor=actor,
                    country=" ".join(confirming.countries),
                    object_type="register_import",
                    object_id=confirming.id,
                    details={"full": confirming.full, **confirming.figures},
                )
    return report


def _by_country(members: list[tuple[int, str, str]]) -> list[tuple[str, list[str]]]:
    """(member id, member number, country) grouped as (country, member numbers), sorted."""
    grouped: dict[str, list[str]] = {}
    for _id, number, country in members:
        grouped.setdefault(country, []).append(number)
    return sorted((country, sorted(numbers)) for country, numbers in grouped.items())


async def _register_rows() -> list[dict[str, Any]]:
    """Every member, as an import compares them with the file."""
    return await Member.select(
        Member.id,
        Member.member_number,
        Member.email,
        Member.name,
        Member.country,
        Member.language,
        Member.shareholder,
        Member.left_at,
        Member.erased_at,
    )


def _acting_role(actor: audit.Actor, role_holder: bool) -> str | None:
    """A role holder's address is changed by the board (or the command line): say so."""
    if role_holder and isinstance(actor, CurrentMember):
        return ROLE_BOARD
    return None


def guard_errors(
    email_changes: list[EmailChange],
    holders: dict[int, list[tuple[str, str]]],
    actor: audit.Actor | None,
) -> list[RowError]:
    """The rows changing the address of a role holder, refused unless the board (or the
    command line) imports."""
    if not holders or board_or_command_line(actor):
        return []
    return [
        RowError(
            change.row.line,
            _(
                "member %(number)s holds a role (%(roles)s): only the board "
                "can change their email address"
            )
            % {
                "number": change.row.member_number,
                "roles": role_names(holders[change.member_id]),
            },
        )
        for change in email_changes
        if change.member_id in holders
    ]


# -- register sync: a preview, then a confirmation (or a cancellation), once ----------------

PREVIEW_LISTED = 100  # members each list of a preview shows (the figures count them all)


@dataclass
class Sweep:
    """What a register file does beyond additions and updates: (member id, number, country)
    of the members a full register no longer lists, and of those listed again after leaving."""

    leaving: list[tuple[int, str, str]] = field(default_factory=list)
    returning: list[tuple[int, str, str]] = field(default_factory=list)


def sweep(
    rows: list[MemberRow], current_rows: list[dict[str, Any]], full: list[str] | None
) -> Sweep:
    """Who leaves (``full``: the countries the register covers; None for a partial import,
    where nobody leaves) and who returns. Erased members are left as they are."""
    listed = {row.member_number for row in rows}
    result = Sweep()
    for r in current_rows:
        if r["erased_at"] is not None:
            continue
        member = (r["id"], r["member_number"], r["country"])
        if r["member_number"] in listed:
            if r["left_at"] is not None:
                result.returning.append(member)
        elif full is not None and r["country"] in full and r["left_at"] is None:
            result.leaving.append(member)
    return result


def figures(work: Plan, moves: Sweep) -> dict[str, int]:
    """A preview's counts; a confirmation applies the file only if the register gives them
    still."""
    return {
        "new": len(work.to_create),
        "changed": len(work.to_update),
        "unchanged": work.unchanged,
        "left": len(moves.leaving),
        "returning": len(moves.returning),
    }


def changed_since_preview() -> Conflict:
    return Conflict(
        _(
            "The member register changed since this preview: nothing was imported. "
            "Upload the file again for a new preview."
        )
    )


@dataclass(frozen=True)
class RegisterImportInfo:
    id: int
    full: bool
    state: str
    countries: list[str]  # the countries the file covers (those a full register sweeps)
    allowed: list[str] | None  # the importer's countries (None: the command line, all)
    figures: dict[str, int]
    summary: dict[str, Any]
    created_at: datetime


async def held_roles(member_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Every role each of these members holds (members without any are left out)."""
    held: dict[int, list[tuple[str, str]]] = {}
    for start in range(0, len(member_ids), CHUNK):
        rows = await MemberRole.select(
            MemberRole.member, MemberRole.role, MemberRole.country
        ).where(
            MemberRole.member.is_in(member_ids[start : start + CHUNK])
            & MemberRole.role.is_in(list(ROLES))
        )
        for r in rows:
            held.setdefault(r["member"], []).append((r["role"], r["country"]))
    return held


def _summary(
    checked: Checked,
    work: Plan,
    moves: Sweep,
    current_rows: list[dict[str, Any]],
    roles: dict[int, list[tuple[str, str]]],
) -> dict[str, Any]:
    """The preview as stored (JSON): the figures, and the first members of each list."""
    by_id = {r["id"]: r for r in current_rows}
    changed_fields = {
        line: names for entries in work.changes.values() for line, _n, names in entries
    }

    def member(member_id: int) -> dict[str, str]:
        r = by_id[member_id]
        return {"member_number": r["member_number"], "name": r["name"]}

    affected = [
        {**member(member_id), "roles": roles[member_id], "why": "leaves"}
        for member_id, _n, _c in moves.leaving
        if member_id in roles
    ] + [
        {**member(change.member_id), "roles": roles[change.member_id], "why": "email"}
        for change in work.email_changes
        if change.member_id in roles
    ]
    return {
        "rows": checked.count,
        **figures(work, moves),
        "new_members": [
            {"member_number": r.member_number, "name": r.name}
            for r in work.to_create[:PREVIEW_LISTED]
        ],
        "changed_members": [
            {"member_number": r.member_number, "name": r.name, "fields": changed_fields[r.line]}
            for _id, r in work.to_update[:PREVIEW_LISTED]
        ],
        "leaving_members": [member(m) for m, _n, _c in moves.leaving[:PREVIEW_LISTED]],
        "returning_members": [member(m) for m, _n, _c in moves.returning[:PREVIEW_LISTED]],
        "roles_affected": affected[:PREVIEW_LISTED],
        "roles_affected_count": len(affected),
    }


async def preview_import(
    text: str,
    *,
    full: bool,
    allowed_countries: list[str] | None = None,
    actor: audit.Actor | None = None,
) -> tuple[ImportReport, RegisterImportInfo | None]:
    """Check the file and compare it with the register, writing nothing to the register: a
    preview (a pending ``RegisterImport``) to confirm or cancel, or the report of the rows to
    correct (and no preview). A full register covers the importer's countries
    (``allowed_countries``; None: every country): their members it does not list would leave.
    """
    checked = await asyncio.to_thread(check, text, allowed_countries)
    rows, errors = checked.rows, list(checked.errors)
    report = ImportReport(rows=checked.count)
    countries = sorted(allowed_countries) if allowed_countries is not None else list(COUNTRIES)
    if full and not rows and not errors:
        errors.append(RowError(1, _("the file lists no member: a full register cannot be empty")))
    info = None
    if not errors:
        current_rows = await _register_rows()
        work = await asyncio.to_thread(plan, rows, current_rows, allowed_countries)
        moves = await asyncio.to_thread(sweep, rows, current_rows, countries if full else None)
        errors.extend(work.errors)
        holders = await guarded_roles([c.member_id for c in work.email_changes])
        errors.extend(guard_errors(work.email_changes, holders, actor))
        if not errors:
            roles = await held_roles(
                [m for m, _n, _c in moves.leaving] + [c.member_id for c in work.email_changes]
            )
            summary = await asyncio.to_thread(_summary, checked, work, moves, current_rows, roles)
            summary.update(countries=countries, allowed=allowed_countries)
            report.created, report.updated = len(work.to_create), len(work.to_update)
            report.unchanged = work.unchanged
            report.left, report.returned = len(moves.leaving), len(moves.returning)
            info = await _store_preview(rows, summary, full, countries, allowed_countries, actor)
    if errors:
        report.error_count = len(errors)
        report.errors = await asyncio.to_thread(first_errors, errors)
    return report, info


async def _store_preview(
    rows: list[MemberRow],
    summary: dict[str, Any],
    full: bool,
    countries: list[str],
    allowed: list[str] | None,
    actor: audit.Actor | None,
) -> RegisterImportInfo:
    stored = [
        [r.line, r.member_number, r.email, r.name, r.country, r.language, r.shareholder]
        for r in rows
    ]
    rows_json, summary_json = await asyncio.to_thread(
        lambda: (json.dumps(stored), json.dumps(summary))
    )
    async with db.write_transaction():
        inserted = await RegisterImport.insert(
            RegisterImport(
                created_by=actor.id if isinstance(actor, CurrentMember) else None,
                country=countries[0] if len(countries) == 1 else "",
                full=full,
                state=IMPORT_PENDING,
                rows=rows_json,
                summary=summary_json,
            )
        ).returning(RegisterImport.id)
        import_id = int(inserted[0]["id"])
        if actor is not None:
            await audit.record(
                "member.import.preview",
                actor=actor,
                country=" ".join(countries),
                object_type="register_import",
                object_id=import_id,
                details={"full": full, **figures_of(summary)},
            )
    return await load_import(import_id)


def figures_of(summary: dict[str, Any]) -> dict[str, int]:
    return {key: int(summary.get(key, 0)) for key in ("new", "changed", "unchanged", "left")} | {
        "returning": int(summary.get("returning", 0))
    }


async def load_import(import_id: int) -> RegisterImportInfo:
    """A stored preview; 404 for an unknown one."""
    row = (
        await RegisterImport.select().where(RegisterImport.id == import_id).first()
        if 1 <= import_id <= db.ID_MAX
        else None
    )
    if row is None:
        raise NotFound(_("There is no member import %(id)d.") % {"id": import_id})
    summary = json.loads(row["summary"] or "{}")
    return RegisterImportInfo(
        id=row["id"],
        full=bool(row["full"]),
        state=row["state"],
        countries=list(summary.get("countries", [])),
        allowed=summary.get("allowed"),
        figures=figures_of(summary),
        summary=summary,
        created_at=row["created_at"],
    )


def require_scope(info: RegisterImportInfo, actor: audit.Actor | None) -> None:
    """Only an operator of every country an import covers sees, confirms or cancels it (the
    command line too)."""
    if isinstance(actor, CurrentMember):
        if info.allowed is None or not set(info.countries) <= set(actor.operator_countries):
            raise Forbidden(
                _("Only operators of %(countries)s can do this.")
                % {"countries": ", ".join(info.countries)}
            )


def _decided_already(state: str) -> Conflict:
    if state == IMPORT_CONFIRMED:
        return Conflict(_("This import was confirmed already: nothing was changed again."))
    return Conflict(_("This import was cancelled: nothing was imported. Upload the file again."))


async def _mark_decided(info: RegisterImportInfo, state: str, actor: audit.Actor | None) -> None:
    """Move the import from pending to ``state``, once: a conditional update (inside the
    caller's write transaction), so a second confirmation, or one after a cancellation, is
    refused whatever the timing."""
    decided = await (
        RegisterImport.update(
            {
                RegisterImport.state: state,
                RegisterImport.decided_at: clock.now(),
                RegisterImport.decided_by: actor.id if isinstance(actor, CurrentMember) else None,
            }
        )
        .where((RegisterImport.id == info.id) & (RegisterImport.state == IMPORT_PENDING))
        .returning(RegisterImport.id)
    )
    if not decided:
        row = (
            await RegisterImport.select(RegisterImport.state)
            .where(RegisterImport.id == info.id)
            .first()
        )
        raise _decided_already(row["state"] if row else IMPORT_CANCELLED)


async def confirm_import(
    import_id: int,
    *,
    actor: audit.Actor | None = None,
    registry: PluginRegistry | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> tuple[ImportReport, RegisterImportInfo]:
    """Apply a previewed import in one write transaction, once: a confirmed or cancelled one
    is refused (409) and nothing changes; so is one whose figures the register no longer
    gives (another change since the preview)."""
    info = await load_import(import_id)
    require_scope(info, actor)
    if info.state != IMPORT_PENDING:
        raise _decided_already(info.state)
    stored = (
        await RegisterImport.select(RegisterImport.rows)
        .where(RegisterImport.id == import_id)
        .first()
    )
    rows = await asyncio.to_thread(
        lambda: [MemberRow(*r) for r in json.loads(stored["rows"] if stored else "[]")]
    )
    report = ImportReport(rows=int(info.summary.get("rows", len(rows))))
    notify = _Notify(registry, settings) if registry is not None and settings is not None else None
    errors: list[RowError] = []
    try:
        await _write(
            rows,
            errors,
            report,
            info.allowed,
            progress,
            actor,
            notify,
            full=info.countries if info.full else None,
            confirming=info,
        )
    except Exception as exc:
        if db.is_unique_violation(exc):
            raise changed_since_preview() from None
        raise
    return report, await load_import(import_id)


async def cancel_import(import_id: int, *, actor: audit.Actor | None = None) -> None:
    """Drop a previewed import, once; the register is not touched."""
    info = await load_import(import_id)
    require_scope(info, actor)
    if info.state != IMPORT_PENDING:
        raise _decided_already(info.state)
    async with db.write_transaction():
        await _mark_decided(info, IMPORT_CANCELLED, actor)
        if actor is not None:
            await audit.record(
                "member.import.cancel",
                actor=actor,
                country=" ".join(info.countries),
                object_type="register_import",
                object_id=info.id,
                details={"full": info.full},
            )
