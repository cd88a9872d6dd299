"""Limits on request bodies, checked before any handler (or Litestar) decodes one.

``RequestBodyGuard`` reads a JSON or form body itself, within the ``[limits]`` of config.toml,
refuses one past a limit with 400 (``InvalidInput``: a problem+json body on the API, the error
page elsewhere) whose message names the limit, and hands the bytes it read on unchanged. Other
bodies (multipart uploads, the member import's CSV) stream through to Litestar, whose
``request_max_body_size`` (``limits.upload_max_bytes``) answers 413 past it.

Which bodies are JSON: those of a route whose ``data`` Litestar decodes as JSON, whatever the
Content-Type says (Litestar decodes them all the same), and any body sent as JSON. Which are
forms: those sent as ``application/x-www-form-urlencoded`` (the CSRF check reads them, and
pages read ``request.form()``), and those of a route that reads its ``data`` as one. A body
that is both is checked both ways.

How a JSON body is checked, in time linear in its size, without a parser written here:

1. its size, from Content-Length before anything is read, then counting as it arrives;
2. its depth, before anything recurses into it: the strings are cut out with one regular
   expression (an unterminated one runs to the end, so no byte is looked at twice), what
   remains is cut down to its brackets, and the deepest level is the largest running sum of
   +1 (``[``, ``{``) and -1 (``]``, ``}``): ``re``, ``bytes.translate`` and ``accumulate``
   do the work in C. A valid document's strings are exactly what the expression cuts out, and
   msgspec stops at the first byte that is not valid, so the decoder never goes deeper than
   this count. (Catching ``RecursionError`` instead would tie the limit to the interpreter's
   recursion limit and to whatever is on the stack already: msgspec reaches it at about
   1,000 levels, under Hypothesis at about 3,000.)
3. then msgspec decodes it (any document within the limits above decodes in milliseconds) and
   one pass over the decoded arrays and objects, with a list for a stack, counts the items of
   each and refuses an integer outside the signed 64-bit range. msgspec keeps such integers
   exact, as Python ints, up to 4,300 digits; longer ones, and numbers past a 64-bit float
   such as 1e400, it refuses itself with a ``ValidationError`` (which decoding without a type
   raises for nothing else): the same answer. Any other fault is answered as a body that is
   not valid JSON, with msgspec's reason.

A form's fields are counted as its ``&`` separators plus one (Litestar splits on ``&``), so
nothing is parsed before the count.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from itertools import accumulate
from typing import Any

import msgspec
from babel.numbers import format_decimal
from litestar.enums import RequestEncodingType, ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.params import BodyKwarg
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.config import Limits
from core.errors import InvalidInput
from core.i18n import _, current_language

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

JSON = "json"
FORM = "form"

# A JSON string, or an unterminated one to the end of the body (so a scan never restarts
# inside it): the unrolled form of "(?:[^"\\]|\\.)*", linear without backtracking.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1


class BodyTooLarge(Exception):
    """The body is longer than the limit: raised while it is still being received."""


def nesting_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (0 for a scalar), strings left out."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def check_json(body: bytes, limits: Limits) -> None:
    """Raise ``InvalidInput`` naming the first limit ``body`` goes past (its size is checked
    as it is read); return when it is within all of them."""
    if nesting_depth(body) > limits.json_max_depth:
        raise _too_deep(limits)
    try:
        value = msgspec.json.decode(body)
    except RecursionError:  # not reached after the count above; kept as a second guard
        raise _too_deep(limits) from None
    except msgspec.ValidationError:  # untyped, msgspec refuses only numbers it cannot hold
        raise _out_of_range() from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(
            _("The request body is not valid JSON (%(reason)s).") % {"reason": str(exc)}
        ) from None
    _check_items_and_integers(value, limits.json_max_items)


def _check_items_and_integers(value: Any, max_items: int) -> None:
    stack = [value] if type(value) is int or isinstance(value, list | dict) else []
    while stack:
        node = stack.pop()
        if type(node) is int:  # bool is a subclass of int, not this type
            if not INT64_MIN <= node <= INT64_MAX:
                raise _out_of_range()
            continue
        if len(node) > max_items:
            raise InvalidInput(
                _("The JSON body has too many items in one array or object: at most %(limit)s.")
                % {"limit": number(max_items)}
            )
        stack.extend(
            item
            for item in (node.values() if isinstance(node, dict) else node)
            if type(item) is int or isinstance(item, list | dict)
        )


def _too_deep(limits: Limits) -> InvalidInput:
    return InvalidInput(
        _("The JSON body is nested too deeply: at most %(limit)s levels of arrays and objects.")
        % {"limit": number(limits.json_max_depth)}
    )


def _out_of_range() -> InvalidInput:
    return InvalidInput(
        _(
            "The JSON body holds a number out of range: an integer must fit in 64 bits "
            "(%(min)s to %(max)s), any other number in a 64-bit float."
        )
        % {"min": INT64_MIN, "max": INT64_MAX}
    )


def check_form(body: bytes, limits: Limits) -> None:
    """Raise ``InvalidInput`` when a url-encoded form has more fields than the limit."""
    if body and body.count(b"&") + 1 > limits.form_max_fields:
        raise too_many_fields(limits)


def too_many_fields(limits: Limits) -> InvalidInput:
    """Also the message for a multipart form of too many parts (Litestar counts those)."""
    return InvalidInput(
        _("The form has too many fields: at most %(limit)s.")
        % {"limit": number(limits.form_max_fields)}
    )


def number(value: int) -> str:
    """A limit as the request's language writes numbers (1,000,000 or 1.000.000)."""
    return format_decimal(value, locale=current_language.get())


def too_large(kind: str, limits: Limits) -> InvalidInput:
    if kind == JSON:
        message = _("The JSON body is too large: at most %(limit)s bytes.")
        return InvalidInput(message % {"limit": number(limits.json_max_bytes)})
    message = _("The form is too large: at most %(limit)s bytes.")
    return InvalidInput(message % {"limit": number(limits.form_max_bytes)})


def body_kinds(scope: Scope) -> set[str]:
    """What the body of this request will be decoded as, of ``JSON`` and ``FORM``: what its
    Content-Type says, and what the route decodes its ``data`` as (Litestar decodes a JSON
    ``data`` whatever the Content-Type says, and the CSRF check reads a form's)."""
    kinds = set()
    content_type = _content_type(scope)
    if content_type == RequestEncodingType.URL_ENCODED:
        kinds.add(FORM)
    elif content_type == RequestEncodingType.JSON or content_type.endswith("+json"):
        kinds.add(JSON)
    handler = scope.get("route_handler")
    if handler is not None and (kind := _data_kind(handler)):
        kinds.add(kind)
    return kinds


def _data_kind(handler: Any) -> str | None:
    """How Litestar decodes the route's ``data``: as JSON unless it says otherwise."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kwarg = data.kwarg_definition
    media_type = kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON
    if media_type == RequestEncodingType.URL_ENCODED:
        return FORM
    if media_type == RequestEncodingType.JSON:
        return JSON
    return None  # multipart and MessagePack: Litestar's own limits


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").partition(";")[0].strip().lower()
    return ""


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # Litestar refuses it with 400 when it reads the body
    return None


async def read_body(receive: Receive, max_bytes: int) -> tuple[bytes, Message | None]:
    """The body, read to its end or to ``max_bytes`` + 1 (then ``BodyTooLarge``); and the
    disconnect message when the client went away before the end."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that gives the body read already, then whatever the client sends next."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class RequestBodyGuard(ASGIMiddleware):
    """Check JSON and form bodies against ``limits`` before anything else reads them."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        kinds = body_kinds(scope)
        if not kinds:
            await next_app(scope, receive, send)
            return
        limits = self.limits
        # A body decoded both ways (a JSON route sent a form) is held to the smaller size.
        kind = min(
            kinds, key=lambda k: limits.json_max_bytes if k == JSON else limits.form_max_bytes
        )
        max_bytes = limits.json_max_bytes if kind == JSON else limits.form_max_bytes
        announced = _content_length(scope)
        if announced is not None and announced > max_bytes:
            raise too_large(kind, limits)
        try:
            body, disconnect = await read_body(receive, max_bytes)
        except BodyTooLarge:
            raise too_large(kind, limits) from None
        if disconnect is not None:
            return  # the client went away: no one to answer
        if body and FORM in kinds:
            check_form(body, limits)
        if body and JSON in kinds:
            check_json(body, limits)
        await next_app(scope, replay(body, receive), send)
