"""Who may call a route is declared on the route (``core.web.guards``), and what a handler
needs reaches it by injection (``core.web.deps``)."""

from __future__ import annotations

import inspect
from typing import Any

from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from core import db
from core.app import create_app
from core.config import Settings
from tests.conftest import add_member, sign_in


async def test_a_handler_given_the_signed_in_member_declares_a_guard(database: Settings) -> None:
    app = create_app(database, engine=db.engine())
    unguarded = [
        f"{sorted(handler.http_methods)} {route.path}"
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if "member" in inspect.signature(handler.fn).parameters and not handler.resolve_guards()
    ]
    assert not unguarded, unguarded


async def refusal(client: AsyncTestClient[Any], path: str) -> tuple[int, str]:
    response = await client.get(path)
    if response.headers["content-type"].startswith("application/problem+json"):
        return response.status_code, response.json()["detail"]
    return response.status_code, response.text


async def test_guards_refuse_with_the_platforms_messages(database: Settings) -> None:
    app = create_app(database, engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        assert await refusal(client, "/api/me/proposals") == (401, "Sign in to see this page.")
        status, text = await refusal(client, "/my/proposals")
        assert status == 401 and "Sign in to see this page." in text
        await sign_in(client, await add_member(country="BE"))
        assert await refusal(client, "/api/moderation/XX") == (400, "Unknown country XX.")
        assert await refusal(client, "/api/moderation/FR") == (
            403,
            "Only operators of FR can do this.",
        )
        status, text = await refusal(client, "/editions/2020-2021/board-theme")
        assert status == 403 and "Only board members and operators add board themes." in text
