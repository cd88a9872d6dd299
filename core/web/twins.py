"""One function makes a page and its JSON twin.

A *view* is an async function that takes what Litestar injects (path and query parameters,
``member``, ``viewer``, ``rules``, ``settings``) and returns the data, a ``msgspec.Struct`` or
a list of them. :func:`twin` turns it into two route handlers:

* the JSON twin at ``/api`` + the page's path, in the OpenAPI schema, returning the data;
* the page, which calls the same view and renders the template with ``context(request, data)``
  (what the template needs besides the data, such as labels or pictures).

Both run the same function, so they refuse alike: a view that raises ``NotFound`` or
``Forbidden`` gives a 404/403 HTML page and a 404/403 problem body
(``tests/test_page_twins.py`` checks every pair built from ``app.routes``).

    @twin("/projects", name="projects", template="projects.html", tags=["projects"],
          summary="Every project, its status and progress", context=projects_context)
    async def project_list() -> list[ProjectSummary]:
        return await projects.list_projects()

The domain's ``routes.py`` lists ``*project_list.handlers``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Template
from litestar.types import Guard

from core.errors import DomainError
from core.web.context import page

View = Callable[..., Awaitable[Any]]
Shown = Mapping[str, Any] | Awaitable[Mapping[str, Any]]
Context = Callable[..., Shown]  # (request, data) or (request, data, arguments)
Refusal = Callable[..., Shown]  # (request, error) or (request, error, arguments)


# What a view found on its way that its page shows too (the edition of a theme list, say):
# kept for the page's context only while a page runs its view, so the page does not look it
# up a second time. The JSON twin keeps nothing.
_kept: ContextVar[dict[str, Any] | None] = ContextVar("twin_kept", default=None)


def keep(name: str, value: Any) -> None:
    """Hand ``value`` to the page's context (nothing happens when the JSON twin runs)."""
    kept = _kept.get()
    if kept is not None:
        kept[name] = value


def kept(name: str) -> Any:
    """What the view kept under ``name`` for this page, or None."""
    return (_kept.get() or {}).get(name)


def is_twin_page(handler: HTTPRouteHandler) -> bool:
    """Was this page handler made by :func:`twin` (the twin test checks every page)?"""
    return bool(getattr(handler.fn, "__twin__", False))


def _takes_arguments(function: Callable[..., Any]) -> bool:
    """Does a context (or refusal) function take the view's arguments as a third parameter?"""
    return len(inspect.signature(function).parameters) >= 3


async def _settled(value: Mapping[str, Any] | Awaitable[Mapping[str, Any]]) -> dict[str, Any]:
    if inspect.isawaitable(value):
        value = await value
    return dict(value)


@dataclass(frozen=True)
class Twin:
    """A page and its JSON twin, made from one view."""

    view: View
    page: HTTPRouteHandler
    api: HTTPRouteHandler

    @property
    def handlers(self) -> tuple[HTTPRouteHandler, HTTPRouteHandler]:
        return (self.page, self.api)


def twin(
    path: str,
    *,
    name: str,
    template: str,
    summary: str,
    tags: Sequence[str],
    context: Context | None = None,
    refusal: Refusal | None = None,
    guards: Sequence[Guard] = (),
    api_path: str | None = None,
) -> Callable[[View], Twin]:
    """Make the page ``path`` (rendering ``template``) and its JSON twin from one view.

    Without ``context`` the template gets the data as ``data``. With ``refusal``, a
    ``DomainError`` the view raises (bad search words, say) shows the same template with
    ``refusal(request, error)`` and the error's status code, where the twin answers the same
    status with a problem body; without it, the usual error page. A ``context`` or
    ``refusal`` with a third parameter also gets the view's arguments (a dict)."""

    def make(view: View) -> Twin:
        signature = inspect.signature(view)
        if "request" in signature.parameters:
            raise TypeError(f"{view.__qualname__}: a view does not take the request")

        context_takes = context is not None and _takes_arguments(context)
        refusal_takes = refusal is not None and _takes_arguments(refusal)

        async def render(request: Request[Any, Any, Any], **kwargs: Any) -> Template:
            token = _kept.set({})
            try:
                return await shown_page(request, kwargs)
            finally:
                _kept.reset(token)

        async def shown_page(request: Request[Any, Any, Any], kwargs: dict[str, Any]) -> Template:
            try:
                data = await view(**kwargs)
            except DomainError as exc:
                if refusal is None:
                    raise
                refused = refusal(request, exc, kwargs) if refusal_takes else refusal(request, exc)
                shown = await _settled(refused)
                return page(request, template, shown, status_code=exc.status_code)
            if context is None:
                return page(request, template, {"data": data})
            extra = context(request, data, kwargs) if context_takes else context(request, data)
            shown = await _settled(extra)
            return page(request, template, shown)

        # Litestar reads the handler's parameters from its signature and annotations: the
        # view's own, plus the request; annotations resolve in the view's module.
        render.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[
                inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY),
                *(
                    p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                    for p in signature.parameters.values()
                ),
            ],
            return_annotation=Template,
        )
        render.__annotations__ = {
            **view.__annotations__,
            "request": Request[Any, Any, Any],
            "return": Template,
        }
        render.__module__ = view.__module__
        render.__name__ = render.__qualname__ = f"{view.__name__}_page"
        render.__doc__ = view.__doc__
        render.__twin__ = True  # type: ignore[attr-defined]
        page_handler = get(path, name=name, guards=list(guards), include_in_schema=False)(render)
        api_handler = get(
            api_path or ("/api" if path == "/" else "/api" + path),
            summary=summary,
            tags=list(tags),
            guards=list(guards),
        )(view)
        return Twin(view=view, page=page_handler, api=api_handler)

    return make
