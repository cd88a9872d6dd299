"""The audit log's tables.

``audit_entry`` rows are only ever inserted: database triggers refuse UPDATE and DELETE on
both backends. ``actor`` is a plain integer, not a foreign key, so that removing a member can
neither delete nor change the entries that name them.

An entry holds no personal value: its ``actor_name`` is a pseudonym ("member 42", "cli") and
its ``personal`` column commits to the personal values kept beside it, in
``audit_personal``, one row per data subject (the actor's label, a member number, an email
address). Erasing a member deletes their ``audit_personal`` rows; the entry and its hash stay,
so the chain still verifies and every count stays true.
"""

from __future__ import annotations

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_entry"):
    """One audited action. ``seq`` counts 1, 2, 3 ... without gaps (unique: the chain cannot
    fork); ``hash`` is SHA-256 over the entry's canonical encoding, which includes
    ``prev_hash``, the hash of entry ``seq - 1``.

    ``country`` is the country (or the space-separated countries) the actor acted for, ""
    for a platform-wide action; ``role`` what they acted as (operator, board, facilitator,
    cli). ``details`` is canonical JSON, without personal values. ``personal`` is canonical
    JSON: a list of ``[member, digest]``, one per ``audit_personal`` row the entry had when it
    was written, ``digest`` = SHA-256 of the row's salt followed by its content.
    """

    seq = Integer(unique=True)
    at = Timestamptz(default=TimestamptzNow())
    actor = Integer(null=True, default=None)
    actor_name = Varchar(length=250, default="")
    role = Varchar(length=20)
    country = Varchar(length=20, default="", index=True)
    action = Varchar(length=60, index=True)
    object_type = Varchar(length=40, default="")
    object_id = Varchar(length=64, default="")
    details = Text(default="{}")
    personal = Text(default="[]")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class AuditPersonal(Table, tablename="audit_personal"):
    """The personal values of one audit entry about one data subject: ``member`` (a plain
    integer, not a foreign key; null when the values name no registered member), ``content``
    (canonical JSON: ``actor_name``, the actor's label, and ``details``, the detail values
    merged back into the entry's details when shown) and ``salt`` (random hex, so the entry's
    digest reveals nothing of a guessable value such as a member number).

    Not append-only: erasing a member deletes their rows (``services.forget_member``)."""

    seq = Integer()  # with member: unique (an index of the migration)
    member = Integer(null=True, default=None, index=True)
    content = Text(default="{}")
    salt = Varchar(length=64)
