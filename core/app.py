"""``create_app(settings)``: the Litestar application, wired from settings and plugins."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import InternalServerException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from piccolo.engine.postgres import PostgresEngine

from core import __version__, db
from core.audit import routes as audit_routes
from core.auth import routes as auth_routes
from core.config import Settings, load_settings
from core.editions import routes as editions_routes
from core.groups import routes as groups_routes
from core.members import routes as members_routes
from core.notifications import routes as notifications_routes
from core.notifications.inapp import unread_count
from core.notifications.relay import Relay, RelayTask
from core.plugins import PluginRegistry, build_registry
from core.polls import routes as polls_routes
from core.recommendations import routes as recommendations_routes
from core.runtime.live import Live
from core.templating import make_environment
from core.themes import routes as themes_routes
from core.web import routes as web_routes
from core.web.context import RequestContextMiddleware
from core.web.deps import DEPENDENCIES, body_error_named_like_a_dependency
from core.web.errors import EXCEPTION_HANDLERS
from core.web.limits import RequestBodyGuard
from core.web.openapi import OperationsPage, ProblemResponses
from core.web.security import security_headers

CSRF_COOKIE = "sip_csrf"

# Each domain owns its routes (``core/<domain>/routes.py``, a ``router``); the app collects them.
DOMAIN_ROUTES = (
    web_routes,
    auth_routes,
    members_routes,
    editions_routes,
    themes_routes,
    polls_routes,
    notifications_routes,
    audit_routes,
    groups_routes,
    recommendations_routes,
)


def create_app(
    settings: Settings | None = None,
    *,
    registry: PluginRegistry | None = None,
    engine: Any = None,
    relay: bool | None = None,
) -> Litestar:
    """Build the application. ``engine`` lets tests hand in an already-migrated database.

    ``relay`` runs the notification relay as a background task of the server; by default it
    does when the application owns its database and ``notifications.relay_in_server`` is on.
    """
    settings = settings or load_settings()
    registry = registry or build_registry(settings)
    db.bind(engine or db.make_engine(settings))

    template_dirs: list[str | Path] = []
    if settings.platform.template_dir:
        template_dirs.append(Path(settings.config_path).parent / settings.platform.template_dir)
    for dirs in registry.hook.template_dirs():
        template_dirs.extend(dirs)
    environment = make_environment(template_dirs)
    environment.globals["platform"] = settings.platform
    environment.globals["country_names"] = {
        code: country.name or code for code, country in settings.countries.items()
    }

    plugin_routes = [route for routes in registry.hook.register_routes() for route in routes]
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name=("__Host-" if settings.cookies_secure else "") + CSRF_COOKIE,
        cookie_secure=settings.cookies_secure,
        cookie_httponly=True,
        cookie_samesite="lax",
    )

    if relay is None:
        relay = engine is None and settings.notifications.relay_in_server

    app = Litestar(
        route_handlers=[*(module.router for module in DOMAIN_ROUTES), *plugin_routes],
        # ``member``, ``viewer``, ``rules`` and ``settings`` for any handler that names them.
        dependencies=DEPENDENCIES,
        middleware=[
            RequestContextMiddleware(),
            # Before the CSRF check, which reads a form's body for its token.
            RequestBodyGuard(settings.limits),
            DefineMiddleware(CSRFMiddleware, config=csrf),
        ],
        # JSON and form bodies have smaller limits of their own (RequestBodyGuard).
        request_max_body_size=settings.limits.upload_max_bytes,
        multipart_form_part_limit=settings.limits.form_max_fields,
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
        openapi_config=OpenAPIConfig(
            title="Smart in Progress",
            version=__version__,
            path="/schema",
            render_plugins=[OperationsPage()],
        ),
        plugins=[ProblemResponses()],  # the API's problem bodies, in the schema
        exception_handlers={
            **EXCEPTION_HANDLERS,
            InternalServerException: body_error_named_like_a_dependency,
        },
        before_send=[security_headers(hsts=settings.cookies_secure)],
        before_request=_before_request,
        # Whoever hands in an engine owns its connection pool (tests do).
        on_startup=([] if engine else [_start_database, _start_pruner])
        + ([_start_relay] if relay else []),
        on_shutdown=([_stop_relay] if relay else [])
        + ([] if engine else [_stop_pruner, _stop_database]),
        debug=False,
        logging_config=None,  # logging is the process's (sip serve configures it), not the app's
    )
    app.state.settings = settings
    app.state.registry = registry
    # The operators' plugin switches, read from the database before requests (core.runtime).
    app.state.live = Live(settings, registry)
    _figures_any_of(app)
    return app


def _figures_any_of(app: Litestar) -> None:
    """A vote figure is an int, a float or an exact decimal text (``voting.base.Figure``): an
    int is also a number, so the generated ``oneOf`` would refuse it; ``anyOf`` says it."""
    from litestar.openapi.spec import OpenAPIType, Schema

    def walk(node: object) -> None:
        if isinstance(node, Schema):
            if node.one_of and {getattr(s, "type", None) for s in node.one_of} >= {
                OpenAPIType.INTEGER,
                OpenAPIType.NUMBER,
            }:
                node.any_of, node.one_of = node.one_of, None
            for value in vars(node).values():
                walk(value)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    components = app.openapi_schema.components
    walk(components.schemas if components else {})


async def _start_database() -> None:
    engine = db.engine()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(max_size=10)


async def _start_relay(app: Litestar) -> None:
    """Deliver the outbox from inside the server (each worker runs one; claims are safe)."""
    task = RelayTask(Relay(app.state.registry, app.state.settings))
    task.start()
    app.state.relay = task


async def _stop_relay(app: Litestar) -> None:
    task = app.state.get("relay")
    if task is not None:
        await task.stop()


async def _before_request(request: Any) -> None:
    if not request.url.path.startswith("/static/"):
        await request.app.state.live.refresh()
    await _count_unread(request)


async def _start_pruner(app: Litestar) -> None:
    """Prune what the retention periods no longer keep, every ``retention.prune_every_hours``
    (only when the application owns its database, like the relay)."""
    from core.maintenance import PrunerTask

    task = PrunerTask(app.state.settings)
    task.start()
    app.state.pruner = task


async def _stop_pruner(app: Litestar) -> None:
    task = app.state.get("pruner")
    if task is not None:
        await task.stop()


async def _count_unread(request: Any) -> None:
    """The unread count the header's Notifications link shows, for a signed-in member's pages."""
    member = request.scope.get("state", {}).get("member")
    if member is not None and not request.url.path.startswith(("/api/", "/static/")):
        request.state.unread_notifications = await unread_count(member.id)


async def _stop_database() -> None:
    await db.close()


def create_app_from_environment() -> Litestar:
    """The factory ``sip serve`` hands to uvicorn (each worker builds its own app)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(load_settings())
    # What start-up built lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise pause every request now and then.
    gc.collect()
    gc.freeze()
    return app
