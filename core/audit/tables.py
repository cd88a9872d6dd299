"""The audit log's one table.

Rows are only ever inserted: database triggers refuse UPDATE and DELETE on both backends.
``actor`` is a plain integer, not a foreign key, so that removing a member can neither
delete nor change the entries that name them (``actor_name`` keeps who it was).
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
    cli). ``details`` is canonical JSON.
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
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
