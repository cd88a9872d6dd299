"""Account pages, the member import, and their JSON twins."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import JSONBody, MultipartBody, URLEncodedBody
from litestar.response import Template

from core.auth import services as auth
from core.errors import DomainError, Forbidden, InvalidInput, NotSignedIn
from core.events import MembersImported, emit
from core.i18n import _, ngettext
from core.members import importer
from core.members.model import CurrentMember
from core.members.services import load_member, set_language
from core.web.context import member_of, page

Req = Request[Any, Any, Any]


class LanguageChange(msgspec.Struct):
    language: str = ""
    next: str = ""


class PasswordChange(msgspec.Struct):
    password: str = ""
    confirm: str = ""


class ImportForm(msgspec.Struct):
    file: UploadFile | None = None


class RowErrorOut(msgspec.Struct):
    line: int
    reason: str


class ImportResult(msgspec.Struct):
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]


def require_member(request: Req) -> CurrentMember:
    member = member_of(request)
    if member is None:
        raise NotSignedIn(_("Sign in to see this page."))
    return member


def require_operator(request: Req) -> CurrentMember:
    member = require_member(request)
    if not member.is_operator():
        raise Forbidden(_("Only operators of the cooperative life team can do this."))
    return member


async def run_import(request: Req, operator: CurrentMember, data: bytes) -> ImportResult:
    try:
        text = importer.decode(data)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    report = await importer.import_members(
        text, allowed_countries=operator.operator_countries, actor=operator
    )
    result = ImportResult(
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        errors=[RowErrorOut(e.line, e.reason) for e in report.errors],
    )
    if report.errors:
        n = len(report.errors)
        raise InvalidInput(
            ngettext(
                "Nothing was imported: %(n)d row needs correcting.",
                "Nothing was imported: %(n)d rows need correcting.",
                n,
            )
            % {"n": n},
            errors=[msgspec.to_builtins(e) for e in result.errors],
        )
    for country, (created, updated) in report.by_country.items():
        emit(
            request.app.state.registry,
            MembersImported(
                country=country, created=created, updated=updated, actor_id=operator.id
            ),
        )
    return result


class AccountPages(Controller):
    include_in_schema = False

    @get("/account", name="account")
    async def account(self, request: Req) -> Template:
        require_member(request)
        return page(request, "account.html")

    @post("/account/password", name="account_password")
    async def password(
        self,
        request: Req,
        data: URLEncodedBody[PasswordChange],
    ) -> Template:
        member = require_member(request)
        try:
            await auth.set_password(member.id, data.password, data.confirm)
        except DomainError as exc:
            return page(request, "account.html", {"password_error": exc.message}, status_code=400)
        request.state.member = await load_member(member.id)
        return page(request, "account.html", {"notice": _("Your password is saved.")})

    @get("/members/import", name="members_import")
    async def import_form(self, request: Req) -> Template:
        require_operator(request)
        return page(request, "members_import.html", {"columns": importer.COLUMNS})

    @post("/members/import", name="members_import_post")
    async def import_upload(
        self,
        request: Req,
        data: MultipartBody[ImportForm],
    ) -> Template:
        operator = require_operator(request)
        context: dict[str, Any] = {"columns": importer.COLUMNS}
        if data.file is None or not data.file.filename:
            context["error"] = _("Choose a CSV file to import.")
            return page(request, "members_import.html", context, status_code=400)
        try:
            result = await run_import(request, operator, await data.file.read())
        except DomainError as exc:
            context.update(error=exc.message, row_errors=exc.errors)
            return page(request, "members_import.html", context, status_code=exc.status_code)
        context["result"] = result
        return page(request, "members_import.html", context)


class MembersAPI(Controller):
    path = "/api"
    tags = ["members"]

    @get("/me", summary="The signed-in member")
    async def me(self, request: Req) -> CurrentMember:
        return require_member(request)

    @put("/me/language", summary="Set the signed-in member's interface language")
    async def language(self, request: Req, data: JSONBody[LanguageChange]) -> CurrentMember:
        member = require_member(request)
        await set_language(member.id, data.language)
        updated = await load_member(member.id)
        assert updated is not None
        return updated

    @post("/me/password", status_code=200, summary="Set or change the member's password")
    async def password(self, request: Req, data: JSONBody[PasswordChange]) -> dict[str, str]:
        member = require_member(request)
        await auth.set_password(member.id, data.password, data.confirm)
        return {"detail": _("Your password is saved.")}

    @post(
        "/members/import",
        status_code=200,
        summary="Import members from CSV (operators; all rows or none)",
        description="Send the CSV as the request body (text/csv). Columns: "
        + ",".join(importer.COLUMNS),
    )
    async def import_csv(self, request: Req) -> ImportResult:
        operator = require_operator(request)
        return await run_import(request, operator, await request.body())

    @get("/members/import/columns", summary="The columns a member import expects")
    async def columns(self) -> list[str]:
        return list(importer.COLUMNS)
