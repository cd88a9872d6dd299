"""Helpers for the security tests: the app's routes, concrete URLs for them, request bodies that
pass validation, and a fingerprint of every table to prove a refused request changed nothing."""

from __future__ import annotations

import hashlib
import re
import typing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from litestar import Litestar
from litestar.routes import HTTPRoute

from core.config import Settings
from core.piccolo_app import TABLES

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PARAM = re.compile(r"\{(\w+):(\w+)\}")
# Tables a refused request may write to: the session and attempt bookkeeping, and an audit
# trail of refusals (kept by core/audit when present).
BOOKKEEPING = frozenset(
    {"web_session", "sign_in_token", "sign_in_failure", "audit_entry", "audit_personal"}
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the route's template, e.g. /polls/{poll_id:int}/vote
    handler: Any

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[tuple[str, str]]:
        return PARAM.findall(self.path)

    @property
    def is_json(self) -> bool:
        return self.path.startswith("/api/")


def endpoints(app: Litestar) -> list[Endpoint]:
    """Every (method, path) the application answers, HEAD and OPTIONS left out."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, entry in route.route_handler_map.items():
            if method in ("HEAD", "OPTIONS"):
                continue
            handler = entry[0] if isinstance(entry, tuple) else entry
            found.append(Endpoint(method, route.path, handler))
    return sorted(found, key=lambda e: (e.path, e.method))


def fill(endpoint: Endpoint, values: dict[str, Any]) -> str:
    """The route's path with each parameter replaced by ``values[name]`` (or a harmless default
    by type)."""

    def one(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if name in values:
            return str(values[name])
        return {"int": "1", "path": "sip.css"}.get(kind, "x")

    return PARAM.sub(one, endpoint.path)


def body_type(endpoint: Endpoint) -> Any:
    """The msgspec type of the handler's ``data`` parameter, if it declares one."""
    hints = typing.get_type_hints(endpoint.handler.fn, include_extras=True)
    data = hints.get("data")
    if data is None:
        return None
    while typing.get_origin(data) is typing.Annotated:
        data = typing.get_args(data)[0]
    return data


def sample(kind: Any, overrides: dict[str, Any], name: str = "") -> Any:
    """A value of ``kind`` that passes validation; ``overrides`` by field name win."""
    if name in overrides:
        return overrides[name]
    origin = typing.get_origin(kind)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return sample(options[0], overrides, name)
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        return {
            f.encode_name: sample(f.type, overrides, f.name)
            for f in msgspec.structs.fields(kind)
            if f.required or f.name in overrides
        }
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(kind)
        return [sample(args[0], overrides)] if args and args[0] is not Any else []
    if origin is dict:
        return {}
    if kind is str:
        return "A text"
    if kind is bool:
        return True
    if kind is int:
        return 1
    if kind is float:
        return 1.0
    if kind is datetime:
        return (datetime.now(UTC) + timedelta(days=30)).isoformat()
    if kind is date:
        return (date.today() + timedelta(days=30)).isoformat()
    return "x"


def json_body(endpoint: Endpoint, overrides: dict[str, Any]) -> Any:
    kind = body_type(endpoint)
    return None if kind is None else sample(kind, overrides)


async def fingerprint() -> dict[str, str]:
    """A digest of every row of every table but the bookkeeping ones."""
    digests = {}
    for table in TABLES:
        name = table._meta.tablename
        if name in BOOKKEEPING:
            continue
        rows = await table.select().order_by(table._meta.primary_key)
        digests[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


async def demo_settings(database: Settings) -> Settings:
    """The test database's settings with the demo's plugins (extend_theme adds routes)."""
    countries = {
        code: msgspec.structs.replace(c, plugins=[*c.plugins, "extend_theme"])
        for code, c in database.countries.items()
    }
    return msgspec.structs.replace(database, countries=countries)
