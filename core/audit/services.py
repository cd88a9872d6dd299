"""Writing, reading and verifying the audit log.

``record`` appends one entry inside the caller's write transaction, so the action and its
entry commit or roll back together. Appends are serialised so the chain never forks: on
SQLite the write transaction (IMMEDIATE) already excludes every other writer; on PostgreSQL a
transaction-scoped advisory lock is taken before the last entry is read, and held to the
commit. ``seq`` is unique besides, so a fork would fail rather than be written.

Personal values (the actor's name and member number, a member number or an email address
in the details) are passed apart (``personal=``, ``by_member_number=``) and kept in
``audit_personal``, one salted row per data subject; the entry commits to each row by its
digest and names the actor by a pseudonym. ``forget_member`` deletes a member's rows: the
chain still verifies, the counts stay true, the page shows "erased member".

What is never recorded: how anyone voted. A member casting a ballot is not an audited action;
an operator entering a paper ballot is recorded without the ballot (``details`` refuses the
keys that would carry one).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from piccolo.querystring import QueryString

from core import clock, db
from core.audit.tables import AuditEntry, AuditPersonal
from core.errors import Forbidden, InvalidInput
from core.i18n import N_, _
from core.members.model import CurrentMember
from core.members.tables import ROLE_BOARD, ROLE_FACILITATOR, ROLE_OPERATOR, ROLE_TELLER, Member

GENESIS = "0" * 64  # the previous hash of entry 1
ROLE_CLI = "cli"  # the command line acted: an operator at the server, no member
ROLE_CLOCK = "clock"  # the platform acted when a time came (a poll closing at its hour)
ROLE_VISITOR = "visitor"  # someone not signed in (a refused sign-in attempt)
ROLE_MEMBER = "member"
# Any constant works; it names "the audit chain" among the platform's advisory locks.
ADVISORY_LOCK_KEY = 0x5A1D_A0D1
ID_MAX = db.ID_MAX
PER_PAGE = 50
PAGE_MAX = 100_000
VERIFY_BATCH = 1000
# Keys a detail may not have: the log never holds a ballot's content (invariant 2).
BALLOT_KEYS = frozenset(
    {"ballot", "ballots", "choice", "choices", "ranking", "rankings", "receipt"}
)

# What each action means, in the operators' words (the page shows the stable name beside it).
ACTIONS = {
    "member.erase": N_("member's personal data erased"),
    "plugin.switch": N_("plugin switched or its options set"),
    "edition.create": N_("edition created"),
    "edition.calendar": N_("phase calendar set"),
    "theme.add": N_("board theme added"),
    "theme.text": N_("theme text set"),
    "theme.accept": N_("proposal accepted"),
    "theme.reject": N_("proposal rejected"),
    "theme.merge": N_("proposal merged"),
    "theme.extend": N_("theme extended"),
    "poll.create": N_("poll created"),
    "poll.open": N_("poll opened"),
    "poll.close": N_("poll closed"),
    "poll.publish": N_("results published"),
    "poll.tellers": N_("poll tellers named"),
    "poll.count": N_("ballot box counted and results published"),
    "room.check_in": N_("member checked in"),
    "room.check_out": N_("member checked out"),
    "room.list": N_("room list viewed, showing who has voted"),
    "room.voted_shown": N_("operator told that a member has already voted"),
    "ballot.paper": N_("paper ballot entered"),
    "proxy.paper": N_("paper proxy recorded"),
    "member.import": N_("members imported"),
    "member.role.grant": N_("role granted"),
    "member.role.revoke": N_("role removed"),
    "member.link": N_("sign-in link issued"),
    "member.email.change": N_("email address changed"),
    "member.sign_in": N_("member signed in"),
    "member.sign_in_refused": N_("sign-in refused: wrong password"),
    "member.link_request": N_("sign-in link asked for and sent"),
    "member.password_change": N_("password changed"),
    "group.create": N_("working group created"),
    "group.slot.add": N_("candidate meeting slot proposed"),
    "group.slot.remove": N_("candidate meeting slot taken back"),
    "group.plan": N_("meeting plan confirmed"),
    "group.attendance": N_("attendance recorded"),
    "info_session.create": N_("info session created"),
    "recommendation.draft": N_("recommendation drafted"),
    "recommendation.edit": N_("recommendation draft edited"),
    "recommendation.submit": N_("recommendation submitted"),
    "bundle.create": N_("bundle handed to the board"),
    "decision.record": N_("board decision recorded"),
    "project.create": N_("project created"),
    "project.source": N_("recommendation added to a project"),
    "project.status": N_("project status changed"),
    "milestone.add": N_("milestone added"),
    "milestone.done": N_("milestone done"),
    "outbox.retry": N_("notification retried"),
    "outbox.retry_failed": N_("failed notifications retried"),
    "audit.resealed": N_("audit log re-sealed without personal values"),
}

# What an actor acted as, in the operators' words.
ROLES = {
    ROLE_OPERATOR: N_("operator"),
    ROLE_BOARD: N_("board"),
    ROLE_TELLER: N_("teller"),
    ROLE_FACILITATOR: N_("facilitator"),
    ROLE_CLI: N_("command line"),
    ROLE_CLOCK: N_("clock"),
    ROLE_VISITOR: N_("visitor"),
    ROLE_MEMBER: N_("member"),
}


class AuditEntryOut(msgspec.Struct, frozen=True):
    seq: int
    at: datetime
    actor: int | None
    actor_name: str
    role: str
    country: str  # "" for platform-wide; "BE FR" for an action on both countries
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    # The members whose personal values in this entry were erased (their label, numbers...).
    erased: list[int] = msgspec.field(default_factory=list)


class AuditPage(msgspec.Struct, frozen=True):
    entries: list[AuditEntryOut]
    page: int
    per_page: int
    total: int
    action: str
    actor: str


@dataclass(frozen=True)
class Verification:
    """The outcome of walking the chain. ``bad_seq`` is the first entry that does not hold."""

    count: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.bad_seq is None and not self.problem


# -- the chain ------------------------------------------------------------------------------


def timestamp(at: datetime) -> str:
    """A moment as the hash sees it: UTC, microseconds, one spelling on both backends."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_details(details: dict[str, Any] | None) -> str:
    """Details as canonical JSON (sorted keys, no spaces); refuses anything that is a ballot."""
    details = details or {}
    found = BALLOT_KEYS & {str(k).lower() for k in details}
    if found:
        raise ValueError(f"the audit log never holds a ballot's content: {sorted(found)}")
    # default=str: a date or a decimal is written as its text, never a 500 after the action.
    return json.dumps(
        details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def canonical(row: dict[str, Any]) -> bytes:
    """The bytes an entry's hash covers: every field but ``hash`` (and the row id)."""
    fields = {
        "seq": int(row["seq"]),
        "at": timestamp(row["at"]),
        "actor": None if row["actor"] is None else int(row["actor"]),
        "actor_name": row["actor_name"],
        "role": row["role"],
        "country": row["country"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "details": row["details"],
        "personal": row["personal"],
        "prev_hash": row["prev_hash"],
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def personal_digest(salt: str, content: str) -> str:
    """What an entry keeps of one ``audit_personal`` row: SHA-256 of its salt and content."""
    return hashlib.sha256((salt + content).encode()).hexdigest()


def pseudonym(actor_id: int) -> str:
    """How an entry names a member who acted: by id, never by name or member number."""
    return f"member {actor_id}"


class CommandLine:
    """The command line as an actor: someone at the server, not a signed-in member. With
    ``role`` "clock", the platform itself when a time came (no one acted)."""

    def __init__(self, role: str = ROLE_CLI) -> None:
        self.role = role

    def __repr__(self) -> str:
        return self.role.upper()


CLI = CommandLine()
CLOCK = CommandLine(ROLE_CLOCK)
VISITOR = CommandLine(ROLE_VISITOR)
Actor = CurrentMember | CommandLine


def acting_role(actor: CurrentMember, country: str) -> str:
    """What ``actor`` acts as for ``country``: its operator, else board, else facilitator."""
    countries = country.split()
    if countries and all(actor.is_operator(c) for c in countries):
        return ROLE_OPERATOR
    if actor.is_board:
        return ROLE_BOARD
    if actor.is_facilitator:
        return ROLE_FACILITATOR
    if not countries and actor.is_operator():
        return ROLE_OPERATOR
    return ROLE_MEMBER


def actor_label(actor: CurrentMember) -> str:
    return f"{actor.name} ({actor.member_number})"


async def record(
    action: str,
    *,
    actor: Actor,
    country: str = "",
    object_type: str = "",
    object_id: int | str | None = None,
    details: dict[str, Any] | None = None,
    role: str | None = None,
    personal: Mapping[int, Mapping[str, Any]] | None = None,
    by_member_number: Iterable[str] = (),
) -> int:
    """Append one entry; returns its sequence number.

    Call it inside the action's ``db.write_transaction()``, as its last statement (on
    PostgreSQL the chain's lock is held from here to the commit). Outside a transaction it
    opens one of its own. ``actor`` is a member or ``CLI``. ``country`` is "" for a
    platform-wide action, or the country codes the action concerns, space-separated.

    ``details`` hold no personal value: those go in ``personal``, by the member they are
    about (``{member_id: {"member_number": ...}}``), and are merged back into the details
    when the entry is shown, until that member is erased. ``by_member_number`` names detail
    keys whose value lists member numbers (or maps them to something): each number's part
    moves to its member's personal values. The actor's label is kept the same way.
    """
    country = " ".join(sorted(set(country.split())))
    subjects: dict[int | None, dict[str, Any]] = {}
    if isinstance(actor, CommandLine):
        actor_id, name, role = None, actor.role, role or actor.role
    else:
        actor_id, name, role = actor.id, pseudonym(actor.id), role or acting_role(actor, country)
        subjects[actor.id] = {"actor_name": actor_label(actor)[:250]}
    details = dict(details or {})
    for member_id, values in (personal or {}).items():
        _merge(subjects.setdefault(member_id, {}).setdefault("details", {}), dict(values))
    row: dict[str, Any] = {
        "actor": actor_id,
        "actor_name": name[:250],
        "role": role,
        "country": country,
        "action": action,
        "object_type": object_type,
        "object_id": "" if object_id is None else str(object_id),
    }
    if db.engine().transaction_exists():
        return await _append(row, details, subjects, tuple(by_member_number))
    async with db.write_transaction():
        return await _append(row, details, subjects, tuple(by_member_number))


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    """Put personal detail values back: lists grow, mappings gain keys, the rest is set."""
    for key, value in values.items():
        present = into.get(key)
        if isinstance(present, list) and isinstance(value, list):
            present.extend(value)
        elif isinstance(present, dict) and isinstance(value, dict):
            present.update(value)
        elif isinstance(value, list | dict):
            into[key] = value.copy()  # grown by later values, never the caller's own
        else:
            into[key] = value


async def _by_member_number(
    details: dict[str, Any], keys: tuple[str, ...], subjects: dict[int | None, dict[str, Any]]
) -> None:
    """Move the member numbers under ``keys`` out of ``details``, each to its member's values."""
    numbered = {key: details.pop(key) for key in keys if key in details}
    numbers = {str(n) for value in numbered.values() for n in value}
    ids: dict[str, int] = {}
    listed = sorted(numbers)
    for start in range(0, len(listed), 500):
        rows = await Member.select(Member.id, Member.member_number).where(
            Member.member_number.is_in(listed[start : start + 500])
        )
        ids.update({r["member_number"]: int(r["id"]) for r in rows})
    for key, value in numbered.items():
        for number in value:
            part = value[number] if isinstance(value, dict) else None
            fragment = {key: {number: part}} if isinstance(value, dict) else {key: [number]}
            subject = subjects.setdefault(ids.get(str(number)), {})
            _merge(subject.setdefault("details", {}), fragment)


async def _append(
    row: dict[str, Any],
    details: dict[str, Any],
    subjects: dict[int | None, dict[str, Any]],
    by_member_number: tuple[str, ...],
) -> int:
    if not db.is_sqlite():
        # Held to the commit: the next appender reads the last entry after this one is in.
        await AuditEntry.raw("SELECT pg_advisory_xact_lock({})", ADVISORY_LOCK_KEY)
    last = await (
        AuditEntry.select(AuditEntry.seq, AuditEntry.hash)
        .order_by(AuditEntry.seq, ascending=False)
        .first()
    )
    if by_member_number:
        await _by_member_number(details, by_member_number, subjects)
    row["details"] = encode_details(details)
    row["seq"] = last["seq"] + 1 if last else 1
    row["prev_hash"] = last["hash"] if last else GENESIS
    now = clock.now()
    row["at"] = now if now.tzinfo else now.replace(tzinfo=UTC)
    kept, commitments = [], []
    for member_id, values in subjects.items():
        if "details" in values:
            encode_details(values["details"])  # no ballot among personal values either
        content = encode_details(values)
        salt = secrets.token_hex(16)
        kept.append(AuditPersonal(seq=row["seq"], member=member_id, content=content, salt=salt))
        commitments.append([member_id, personal_digest(salt, content)])
    row["personal"] = json.dumps(commitments, separators=(",", ":"))
    row["hash"] = entry_hash(row)
    await AuditEntry.insert(AuditEntry(**row))
    if kept:
        await AuditPersonal.insert(*kept)
    return row["seq"]


async def forget_member(member_id: int) -> int:
    """Erase what the audit log holds of a member: their ``audit_personal`` rows (their label
    as an actor, their member number, their addresses). The entries stay and still verify.
    Call it inside the erasure's write transaction; returns how many rows went."""
    gone = await (
        AuditPersonal.delete().where(AuditPersonal.member == member_id).returning(AuditPersonal.id)
    )
    return len(gone)


async def verify(expect: tuple[int, str] | None = None) -> Verification:
    """Walk the chain from entry 1, recomputing every hash.

    Finds an entry that was changed (its hash no longer matches), removed (a gap in the
    sequence, or the next entry's previous hash does not match) or put in place of another.
    A cut-off tail leaves a shorter chain that holds: ``expect`` (a sequence number and the
    hash noted from an earlier run) catches that, and a chain rewritten from some entry on.

    Each entry's personal values (``audit_personal``) must be ones it committed to: a row
    changed, added or moved to another member is found; a row deleted (a member erased) is
    not a fault.
    """
    count = 0
    previous_seq, previous_hash = 0, GENESIS
    expected_found = expect is None
    while True:
        rows = (
            await AuditEntry.select()
            .where(AuditEntry.seq > previous_seq)
            .order_by(AuditEntry.seq)
            .limit(VERIFY_BATCH)
        )
        if not rows:
            break
        kept = await _personal_rows(previous_seq, int(rows[-1]["seq"]))
        for row in rows:
            seq = int(row["seq"])
            if seq != previous_seq + 1:
                return Verification(
                    count,
                    previous_seq,
                    previous_hash,
                    previous_seq + 1,
                    f"entry {previous_seq + 1} is missing (the next one is {seq})",
                )
            if row["prev_hash"] != previous_hash:
                return Verification(
                    count,
                    previous_seq,
                    previous_hash,
                    seq,
                    f"entry {seq} does not follow entry {previous_seq} "
                    "(an entry before it was removed or replaced)",
                )
            if entry_hash(row) != row["hash"]:
                return Verification(
                    count, previous_seq, previous_hash, seq, f"entry {seq} was changed"
                )
            if not _personal_holds(row, kept.get(seq, [])):
                return Verification(
                    count,
                    previous_seq,
                    previous_hash,
                    seq,
                    f"the personal values of entry {seq} were changed",
                )
            if expect is not None and seq == expect[0]:
                if row["hash"] != expect[1]:
                    return Verification(
                        count,
                        previous_seq,
                        previous_hash,
                        seq,
                        f"entry {seq} is not the one noted: the chain was rewritten from "
                        "there or before",
                    )
                expected_found = True
            count += 1
            previous_seq, previous_hash = seq, row["hash"]
    stray = await (
        AuditPersonal.select(AuditPersonal.seq)
        .where(AuditPersonal.seq > previous_seq)
        .order_by(AuditPersonal.seq)
        .first()
    )
    if stray:
        return Verification(
            count,
            previous_seq,
            previous_hash,
            int(stray["seq"]),
            f"personal values were added for entry {stray['seq']}, which does not exist",
        )
    if not expected_found:
        assert expect is not None
        return Verification(
            count,
            previous_seq,
            previous_hash,
            None,
            f"entry {expect[0]}, noted earlier, is gone: the chain ends at {previous_seq} "
            "(entries were cut off)",
        )
    return Verification(count, previous_seq, previous_hash)


async def _personal_rows(after: int, upto: int) -> dict[int, list[dict[str, Any]]]:
    rows = await AuditPersonal.select().where(
        (AuditPersonal.seq > after) & (AuditPersonal.seq <= upto)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(int(row["seq"]), []).append(row)
    return found


def _commitments(entry: dict[str, Any]) -> list[tuple[int | None, str]]:
    try:
        pairs = json.loads(entry.get("personal") or "[]")
        return [(None if m is None else int(m), str(d)) for m, d in pairs]
    except (ValueError, TypeError):
        return []


def _personal_holds(entry: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    """Every personal row of ``entry`` is one it committed to, for the same member, once."""
    committed = _commitments(entry)
    seen: set[tuple[int | None, str]] = set()
    for row in rows:
        member = None if row["member"] is None else int(row["member"])
        pair = (member, personal_digest(row["salt"], row["content"]))
        if pair not in committed or pair in seen:
            return False
        seen.add(pair)
    return True


# -- reading --------------------------------------------------------------------------------


def visible_countries(viewer: CurrentMember) -> list[str] | None:
    """The countries whose entries ``viewer`` reads (None: all); platform-wide entries too."""
    if viewer.is_board:
        return None
    if viewer.is_operator():
        return viewer.operator_countries
    raise Forbidden(_("Only operators and board members see the audit log."))


def _where(countries: list[str] | None, action: str, actor: str) -> list[Any]:
    conditions: list[Any] = []
    if countries is not None:
        scoped: Any = AuditEntry.country == ""
        for code in countries:
            # Codes are two letters and a scope separates them by spaces: a substring match
            # finds "BE" in "BE FR" and nowhere else.
            scoped = scoped | AuditEntry.country.like(f"%{code}%")
        conditions.append(scoped)
    if action:
        conditions.append((AuditEntry.action == action) | AuditEntry.action.like(f"{action}.%"))
    if actor:
        if actor.isdigit() and int(actor) <= ID_MAX:
            conditions.append(AuditEntry.actor == int(actor))
        elif actor.lower() in (ROLE_CLI, ROLE_CLOCK, ROLE_VISITOR):
            conditions.append(AuditEntry.actor.is_null() & (AuditEntry.role == actor.lower()))
        else:
            # The actor's label is among the entry's personal values (gone once erased).
            # SQLite's LIKE ignores the case of ASCII letters already; PostgreSQL needs ILIKE.
            if db.is_sqlite():
                labelled = "json_extract(content, '$.actor_name') LIKE {}"
            else:
                labelled = "(content::jsonb ->> 'actor_name') ILIKE {}"
            conditions.append(
                AuditEntry.seq.is_in(
                    QueryString(f"SELECT seq FROM audit_personal WHERE {labelled}", f"%{actor}%")
                )
            )
    return conditions


def clean_filter(value: str, what: str, limit: int = 100, known: Iterable[str] = ()) -> str:
    """A filter's text, refused when it holds what a LIKE pattern would read as a wildcard,
    unless it is one of the ``known`` names (an action such as ``member.sign_in``)."""
    value = value.strip()
    if value in known:
        return value
    if len(value) > limit or any(ch in value for ch in "%_\\") or not value.isprintable():
        raise InvalidInput(
            _("The %(what)s filter holds characters it cannot search for.") % {"what": _(what)}
        )
    return value


async def list_entries(
    viewer: CurrentMember, *, page: int = 1, action: str = "", actor: str = ""
) -> AuditPage:
    """The entries ``viewer`` may read, newest first, ``PER_PAGE`` a page."""
    countries = visible_countries(viewer)
    if not 1 <= page <= PAGE_MAX:
        raise InvalidInput(_("There is no page %(page)d.") % {"page": page})
    action = clean_filter(action, N_("action"), known=ACTIONS)
    actor = clean_filter(actor, N_("actor"))
    conditions = _where(countries, action, actor)
    query = AuditEntry.select()
    counting = AuditEntry.count()
    for condition in conditions:
        query = query.where(condition)
        counting = counting.where(condition)
    total = await counting
    rows = await (
        query.order_by(AuditEntry.seq, ascending=False)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    shown = await _personal_rows(
        min((int(r["seq"]) for r in rows), default=0) - 1,
        max((int(r["seq"]) for r in rows), default=0),
    )
    return AuditPage(
        entries=[_out(r, shown.get(int(r["seq"]), [])) for r in rows],
        page=page,
        per_page=PER_PAGE,
        total=total,
        action=action,
        actor=actor,
    )


def _out(row: dict[str, Any], personal: list[dict[str, Any]]) -> AuditEntryOut:
    """An entry as shown: its personal values merged back in, the actor named by their label,
    and the members whose values were erased listed (the actor shown as "erased member")."""
    at = row["at"]
    details = json.loads(row["details"] or "{}")
    actor_name = row["actor_name"]
    by_member: dict[int | None, dict[str, Any]] = {}
    for kept in personal:
        member = None if kept["member"] is None else int(kept["member"])
        by_member[member] = json.loads(kept["content"] or "{}")
    erased = []
    for member, _digest in _commitments(row):
        values = by_member.get(member)
        if values is None:
            if member is not None and member not in erased:
                erased.append(member)
            continue
        if "actor_name" in values and member == row["actor"]:
            actor_name = values["actor_name"]
        _merge(details, values.get("details", {}))
    if row["actor"] is not None and row["actor"] in erased:
        actor_name = _("erased member")
    return AuditEntryOut(
        seq=int(row["seq"]),
        at=at if at.tzinfo else at.replace(tzinfo=UTC),
        actor=row["actor"],
        actor_name=actor_name,
        role=row["role"],
        country=row["country"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        details=details,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        erased=erased,
    )


async def as_shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries read straight from ``audit_entry``, as the page shows them: ``actor_name`` and
    ``details`` (parsed) with their personal values merged back in, ``erased`` the members
    whose values are gone. For the command line and tests."""
    seqs = sorted(int(r["seq"]) for r in rows)
    kept: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        for personal in await AuditPersonal.select().where(AuditPersonal.seq.is_in(chunk)):
            kept.setdefault(int(personal["seq"]), []).append(personal)
    shown = []
    for row in rows:
        out = _out(row, kept.get(int(row["seq"]), []))
        shown.append(
            {**row, "actor_name": out.actor_name, "details": out.details, "erased": out.erased}
        )
    return shown
