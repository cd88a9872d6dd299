"""The errors of the JSON API, as the OpenAPI schema documents them.

Every ``/api/`` route answers a refusal with a problem-details body (RFC 9457,
``application/problem+json``; ``core.web.errors.problem``): invalid input (400), not signed in
(401), forbidden or a failed CSRF check (403), not found (404), a conflict with the current
state (409), an expired link (410), too many attempts (429). Litestar documents only its own
validation error (a different body, as ``application/json``), so clients reading the schema
would expect bodies the platform never sends. ``ProblemResponses`` adds these responses to
every API route as it is registered; a route that declares its own response for a status keeps
it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.plugins import ReceiveRoutePlugin
from litestar.response import Template
from litestar.routes import BaseRoute, HTTPRoute

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(msgspec.Struct):
    """A refusal, as RFC 9457 words it; ``errors`` lists the invalid fields, when known."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[dict[str, Any]] = []


# The statuses of ``core.errors``: the domain errors and Litestar's own refusals.
PROBLEMS = {
    400: "Invalid input: the request does not match the schema or breaks a rule",
    401: "Sign-in required",
    403: "Forbidden: not allowed for this member, or the CSRF check failed",
    404: "Not found",
    409: "Conflict with the current state (a poll already closed, a vote already cast ...)",
    410: "Gone: the link has expired or was already used",
    429: "Too many attempts: try again later",
}


def problem_responses() -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=description,
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status, description in PROBLEMS.items()
    }


class ProblemResponses(ReceiveRoutePlugin):
    """Document the problem responses on every route under ``/api/``."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            return
        for handler in route.route_handlers:
            declared = dict(handler.responses or {})
            handler.responses = {**problem_responses(), **declared}


class Operation(msgspec.Struct):
    method: str
    path: str
    summary: str


class OperationsPage(OpenAPIRenderPlugin):
    """``/schema``: the API's operations, per tag, as a page of the site that links the JSON
    schema. Nothing comes from another server: Litestar's own viewers load their scripts from a
    CDN, which the content security policy blocks and a server may not reach."""

    def __init__(self) -> None:
        super().__init__(path="/")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        tags: dict[str, list[Operation]] = {}
        for path, item in sorted(openapi_schema.get("paths", {}).items()):
            for method in ("get", "post", "put", "patch", "delete"):
                operation = item.get(method)
                if operation is None:
                    continue
                for tag in operation.get("tags") or ["api"]:
                    tags.setdefault(tag, []).append(
                        Operation(method.upper(), path, operation.get("summary", ""))
                    )
        context = Template(
            template_name="api_docs.html",
            context={
                "request_path": request.url.path,
                "tags": sorted(tags.items()),
                "schema_url": self.get_openapi_json_route(request),
            },
        ).create_template_context(request)
        engine = request.app.template_engine
        assert engine is not None
        return engine.get_template("api_docs.html").render(**context).encode()
