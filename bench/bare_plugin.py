"""``bench_bare``: the bare endpoint the load benchmarks measure the platform against.

``POST /bench/bare`` (and ``GET``) goes through the same server, middleware (session cookie,
CSRF check) and JSON handling as a real request, then answers at once without touching the
database.
Only the benchmarks enable it (through an entry point they write into their own folder).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get, post

from core import hookimpl


class Bare(msgspec.Struct):
    choice: list[Any]


class Ack(msgspec.Struct):
    ok: bool
    items: int


@post("/bench/bare", status_code=201, include_in_schema=False)
async def bare(data: Bare) -> Ack:
    return Ack(ok=True, items=len(data.choice))


@get("/bench/bare", include_in_schema=False)
async def bare_page() -> Ack:
    return Ack(ok=True, items=0)


@hookimpl
def register_routes() -> list[Any]:
    return [bare, bare_page]
