"""The ``sip`` command: serve, database, plugins, members, polls, notifications, tally."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core import db
from core.config import COUNTRIES, ConfigError, Settings, load_settings
from core.members.tables import ROLES

if TYPE_CHECKING:
    from core.plugins import PluginRegistry

# soft_wrap: a long line (a path, a row's reasons) stays one line when the output is piped.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

# The demo data of ``sip serve --demo``: a package outside the core, loaded by its name.
DEMO_PACKAGE = "plugins.demo"


def _settings(ctx: click.Context) -> Settings:
    """The settings, checked whole (plugin names included) before any command touches data."""
    from core.plugins import build_registry

    try:
        settings = load_settings(ctx.obj.get("config"))
        ctx.obj["registry"] = build_registry(settings)
    except ConfigError as exc:
        errors.print(f"[bold red]Configuration error:[/] {exc}", highlight=False)
        sys.exit(2)
    return settings


def _registry(ctx: click.Context) -> PluginRegistry:
    """The plugins ``_settings`` loaded (call it first)."""
    return ctx.obj["registry"]


def _run(settings: Settings, work: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Bind the configured database and run one coroutine."""

    async def main() -> Any:
        engine = db.make_engine(settings)
        db.bind(engine)
        try:
            return await work()
        finally:
            await db.close(engine)

    return asyncio.run(main())


@click.group()
@click.option("--config", type=click.Path(dir_okay=False), help="config.toml to use (SIP_CONFIG)")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """Smart in Progress: the cooperative's participatory cycle."""
    ctx.ensure_object(dict)
    if config:
        os.environ["SIP_CONFIG"] = str(Path(config).resolve())
    ctx.obj["config"] = config


@main.command()
@click.option("--host", default=None, help="address to listen on (config: server.host)")
@click.option("--port", type=int, default=None, help="port (config: server.port)")
@click.option("--workers", type=int, default=None, help="worker processes (config: server.workers)")
@click.option("--demo", is_flag=True, help="seed the demo data on first start")
@click.pass_context
def serve(
    ctx: click.Context, host: str | None, port: int | None, workers: int | None, demo: bool
) -> None:
    """Start the web server (SQLite databases are migrated first)."""
    import uvicorn

    settings = _settings(ctx)  # fails before binding the port if a plugin name is wrong
    host = host or settings.server.host
    port = port or settings.server.port
    workers = workers or settings.server.workers

    async def prepare() -> bool:
        if settings.is_sqlite:
            await db.upgrade()
        elif pending := await db.pending_migrations():
            # Several servers share a PostgreSQL database: its upgrade is a deliberate step.
            errors.print(
                f"[bold red]The database needs {len(pending)} migration(s).[/] "
                "Run `sip db upgrade` first.",
                highlight=False,
            )
            sys.exit(2)
        seeded = False
        if demo:
            seeded = await _demo().seed_demo(settings)
        return seeded

    seeded = _run(settings, prepare)
    # The workers read their settings from the environment: demo mode is this flag only.
    if demo:
        os.environ["SIP_DEMO"] = "1"
    else:
        os.environ.pop("SIP_DEMO", None)
    console.print(f"Database: {db.database_label(settings)}", highlight=False)
    if demo:
        _print_demo(settings, seeded)
    console.print(f"Serving on [bold]http://{host}:{port}[/] ({workers} worker(s))")
    uvicorn.run(
        "core.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # Only configured proxies may set the client address that sign-in limits count.
        proxy_headers=bool(settings.server.forwarded_allow_ips),
        forwarded_allow_ips=settings.server.forwarded_allow_ips or None,
    )


def _demo() -> ModuleType:
    """The demo package (``plugins/demo``), loaded by name: the core imports no plugin."""
    return importlib.import_module(DEMO_PACKAGE)


def _print_demo(settings: Settings, seeded: bool) -> None:
    demo = _demo()
    console.print("Demo data " + ("created." if seeded else "already present (left as it is)."))
    table = Table(title="Demo accounts: sign in at /sign-in")
    table.add_column("role")
    table.add_column("email")
    table.add_column("country")
    table.add_column("language")
    for account in demo.ACCOUNTS:
        table.add_row(account.label, account.email, account.country, account.language)
    console.print(table)
    console.print(
        f"Password for every demo account: [bold]{demo.DEMO_PASSWORD}[/]. Or ask for a sign-in "
        "link on the page (it is written to this log), or run: sip members link EMAIL",
        highlight=False,
    )


@main.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply every migration not yet applied (SQLite or PostgreSQL)."""
    settings = _settings(ctx)
    _run(settings, db.upgrade)
    console.print(f"Database {db.database_label(settings)} is up to date.", highlight=False)


@main.command("plugins")
@click.pass_context
def plugins_command(ctx: click.Context) -> None:
    """List every installed plugin, where it comes from and which countries enable it."""
    _settings(ctx)
    registry = _registry(ctx)
    table = Table(title="Plugins")
    table.add_column("plugin")
    table.add_column("source")
    table.add_column("enabled for")
    for name, source, countries in registry.rows():
        table.add_row(name, source, ", ".join(countries) or "-")
    Console(width=120).print(table)


@main.group("members")
def members_group() -> None:
    """The member register."""


@members_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--full",
    is_flag=True,
    help="the file is the full register: members it does not list are marked as having left "
    "(a preview is shown first)",
)
@click.option("--yes", is_flag=True, help="with --full: confirm the preview without asking")
@click.pass_context
def members_import(ctx: click.Context, file: str, full: bool, yes: bool) -> None:
    """Import members from a CSV file (all rows or none; re-importing changes nothing).

    Without --full it is a partial import: additions and updates only, nobody leaves."""
    from core.errors import DomainError
    from core.events import MembersImported
    from core.members import importer
    from core.rules import Rules

    settings = _settings(ctx)
    try:
        text = importer.decode(Path(file).read_bytes())
    except ValueError as exc:
        errors.print(f"[bold red]{file}:[/] {exc}", highlight=False)
        sys.exit(1)

    def refused(report: importer.ImportReport) -> None:
        errors.print(
            f"[bold red]Nothing imported:[/] {report.error_count} bad row(s) in {file}",
            highlight=False,
        )
        for error in report.errors:  # the first importer.MAX_ERRORS, by line
            errors.print(f"  line {error.line}: {error.reason}", highlight=False)
        if report.more_errors:
            errors.print(
                f"  … and {report.more_errors} more (the first {len(report.errors)} are listed)",
                highlight=False,
            )
        sys.exit(1)

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        async def work() -> importer.ImportReport:
            if settings.is_sqlite:
                await db.upgrade()
            from core.audit.services import CLI

            return await importer.import_members(
                text,
                progress=progress,
                actor=CLI,
                registry=_registry(ctx),
                settings=settings,
            )

        async def preview() -> tuple[importer.ImportReport, importer.RegisterImportInfo | None]:
            if settings.is_sqlite:
                await db.upgrade()
            from core.audit.services import CLI

            return await importer.preview_import(text, full=True, actor=CLI)

        try:
            if full:
                report, info = _run(settings, preview)
            else:
                report, info = _run(settings, work), None
        except DomainError as exc:
            errors.print(f"[bold red]Nothing imported:[/] {exc.message}", highlight=False)
            sys.exit(1)
    if not report.ok:
        refused(report)
    if info is not None:
        figures = info.figures
        console.print(
            f"Full register {file} (countries {', '.join(info.countries)}): "
            f"{figures['new']} new, {figures['changed']} changed, "
            f"{figures['unchanged']} unchanged, {figures['left']} no longer in the register "
            f"(they will be marked as having left), {figures['returning']} returning; "
            f"{info.summary.get('roles_affected_count', 0)} role holder(s) affected.",
            highlight=False,
        )
        for m in info.summary.get("changed_members", []):
            console.print(f"  changed {m['member_number']}: {', '.join(m['fields'])}")
        for m in info.summary.get("leaving_members", []):
            console.print(f"  leaves {m['member_number']} ({m['name']})", highlight=False)
        for r in info.summary.get("roles_affected", []):
            roles = ", ".join(f"{role} {c}".strip() for role, c in r["roles"])
            why = "leaves" if r["why"] == "leaves" else "email address changes"
            console.print(f"  role holder {r['member_number']} ({roles}): {why}")
        if not yes and not click.confirm("Apply this import?", default=False):

            async def cancel() -> None:
                from core.audit.services import CLI

                await importer.cancel_import(info.id, actor=CLI)

            _run(settings, cancel)
            console.print("Cancelled: nothing imported.")
            return

        async def confirm() -> importer.ImportReport:
            from core.audit.services import CLI

            report, _info = await importer.confirm_import(
                info.id, actor=CLI, registry=_registry(ctx), settings=settings
            )
            return report

        try:
            report = _run(settings, confirm)
        except DomainError as exc:
            errors.print(f"[bold red]Nothing imported:[/] {exc.message}", highlight=False)
            sys.exit(1)
    # Like an import on the web page, tell each country's plugins what changed (no actor).
    for country, (created, updated) in report.by_country.items():
        Rules(_registry(ctx), _settings(ctx)).emit(
            MembersImported(country=country, created=created, updated=updated)
        )
    if full:
        console.print(
            f"Imported the full register {file}: {report.created} new, {report.updated} "
            f"updated, {report.unchanged} unchanged, {report.left} marked as having left, "
            f"{report.returned} returning.",
            highlight=False,
        )
    else:
        console.print(
            f"Imported {file} (partial: additions and updates only): {report.created} new, "
            f"{report.updated} updated, {report.unchanged} unchanged.",
            highlight=False,
        )


@members_group.command("link")
@click.argument("email")
@click.pass_context
def members_link(ctx: click.Context, email: str) -> None:
    """Print a one-time sign-in link for a member."""
    from core.auth.services import create_sign_in_link
    from core.members.services import member_by_email

    settings = _settings(ctx)

    async def work() -> str | None:
        if settings.is_sqlite:
            await db.upgrade()  # like serve and import: a fresh SQLite file has no tables yet
        from core.audit import services as audit

        member = await member_by_email(email)
        if member is None:
            return None
        # Whoever holds the link signs in as the member: that one was issued is on record.
        async with db.write_transaction():
            token = await create_sign_in_link(member.id, settings.security.sign_in_link_minutes)
            await audit.record(
                "member.link",
                actor=audit.CLI,
                country=member.country,
                object_type="member",
                object_id=member.id,
                personal={member.id: {"member_number": member.member_number}},
            )
        return token

    token = _run(settings, work)
    if token is None:
        errors.print(f"No member with the email address {email}.", highlight=False)
        sys.exit(1)
    click.echo(f"{settings.platform.base_url.rstrip('/')}/sign-in/link/{token}")
    errors.print(
        f"Valid for {settings.security.sign_in_link_minutes} minutes, once.", highlight=False
    )


@members_group.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@click.option(
    "--country", type=click.Choice(COUNTRIES), default=None, help="for operators, tellers"
)
@click.option("--remove", is_flag=True, help="take the role away")
@click.pass_context
def members_role(
    ctx: click.Context, email: str, role: str, country: str | None, remove: bool
) -> None:
    """Give a member a role (or take it away with --remove)."""
    from core.errors import DomainError
    from core.members.services import grant_role, revoke_role

    settings = _settings(ctx)
    country = country or ""  # no --country: a role that spans countries (or an error)

    async def work() -> None:
        if settings.is_sqlite:
            await db.upgrade()  # like serve and import: a fresh SQLite file has no tables yet
        from core.audit.services import CLI

        if remove:
            await revoke_role(email, role, country, actor=CLI)
        else:
            await grant_role(email, role, country, actor=CLI)

    try:
        _run(settings, work)
    except DomainError as exc:
        errors.print(exc.message, highlight=False)
        sys.exit(1)
    scope = f" {country}" if country else ""
    console.print(f"{email}: {role}{scope} {'removed' if remove else 'granted'}.", highlight=False)


@members_group.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="confirm: the erasure cannot be undone")
@click.pass_context
def members_erase(ctx: click.Context, email: str, yes: bool) -> None:
    """Erase a member's personal data by anonymisation (counts stay true; refused while an
    open poll counts the member as a voter)."""
    from core.errors import DomainError
    from core.members import privacy
    from core.members.services import member_by_email
    from core.rules import Rules

    if not yes:
        errors.print("Erasure cannot be undone: add --yes to confirm.", highlight=False)
        sys.exit(2)
    settings = _settings(ctx)
    rules = Rules(_registry(ctx), settings)

    async def work() -> int | None:
        if settings.is_sqlite:
            await db.upgrade()
        from core.audit.services import CLI

        member = await member_by_email(email)
        if member is None:
            return None
        await privacy.erase(member.id, CLI, settings, rules=rules)
        return member.id

    try:
        erased = _run(settings, work)
    except DomainError as exc:
        errors.print(exc.message, highlight=False)
        sys.exit(1)
    if erased is None:
        errors.print(f"No member with the email address {email}.", highlight=False)
        sys.exit(1)
    console.print(f"Member {erased}: personal data erased.", highlight=False)


@main.group("poll")
def poll_group() -> None:
    """AGM polls: the tellers' count."""


@poll_group.command("open")
@click.argument("poll_id", type=int)
@click.pass_context
def poll_open(ctx: click.Context, poll_id: int) -> None:
    """Open a draft poll at a terminal and show each teller their share in turn.

    The tellers sit at the terminal one after the other; each share is shown alone, then the
    screen and its scrollback are cleared. No share waits in a server's memory, so this works
    whatever the number of server workers."""
    from core.audit.services import CLI
    from core.errors import DomainError
    from core.polls import services as polls
    from core.rules import Rules

    settings = _settings(ctx)
    rules = Rules(registry=_registry(ctx), settings=settings)

    async def work() -> None:
        poll = await polls.get_poll(poll_id)
        tellers = await polls.tellers_of(poll)
        if poll.state == polls.DRAFT and tellers:
            needed = await polls.Poll.select(polls.Poll.tellers_needed).first()
            console.print(
                f"Poll {poll_id} ({poll.country}): {len(tellers)} teller(s); "
                f"{needed['tellers_needed'] if needed else 1} must count together.",
                highlight=False,
            )
        await polls.open_poll(rules, CLI, poll_id)
        for teller in tellers:
            member = await load_member(teller.member_id)
            assert member is not None
            click.prompt(
                f"{teller.name}: press Enter when only you can see this screen",
                default="",
                show_default=False,
                err=True,
            )
            share = await polls.collect_share(member, poll_id)
            words = share.share.split()
            console.print(f"The share of {teller.name} ({len(words)} words):", highlight=False)
            for start in range(0, len(words), 6):
                console.print(
                    "  ".join(
                        f"{n:>2}. {w:<10}"
                        for n, w in enumerate(words[start : start + 6], start + 1)
                    ),
                    highlight=False,
                )
            click.prompt(
                "Written down? Press Enter to clear the screen",
                default="",
                show_default=False,
                err=True,
            )
            click.echo("\033[3J\033[H\033[2J", nl=False)  # the screen and its scrollback

    from core.members.services import load_member

    try:
        _run(settings, work)
    except DomainError as exc:
        errors.print(f"[bold red]Not opened:[/] {exc.message}", highlight=False)
        sys.exit(2)
    console.print(f"Poll {poll_id} is open; every teller has their share.", highlight=False)


@poll_group.command("count")
@click.argument("poll_id", type=int)
@click.pass_context
def poll_count(ctx: click.Context, poll_id: int) -> None:
    """Count a closed poll: its tellers type their shares in turn (hidden), the ballot box is
    opened in memory, shuffled and published, and the sealed ballots are erased."""
    from core.errors import DomainError
    from core.polls import services as polls
    from core.rules import Rules

    settings = _settings(ctx)
    rules = Rules(registry=_registry(ctx), settings=settings)

    async def needed() -> polls.PollInfo:
        return await polls.get_poll(poll_id)

    try:
        poll = _run(settings, needed)
    except DomainError as exc:
        errors.print(f"[bold red]{exc.message}[/]", highlight=False)
        sys.exit(2)
    if poll.state != polls.CLOSED:
        message = {
            polls.PUBLISHED: f"Poll {poll_id} is counted already: its result is published.",
        }.get(poll.state, f"Poll {poll_id} is {poll.state}: close it before counting.")
        errors.print(message, highlight=False)
        sys.exit(0 if poll.state == polls.PUBLISHED else 2)
    console.print(
        f"Poll {poll_id} ({poll.country}): {poll.tellers_needed} teller(s) give their share. "
        "The words are not shown as they are typed.",
        highlight=False,
    )
    shares = [
        click.prompt(f"Share of teller {n}", hide_input=True, err=True)
        for n in range(1, poll.tellers_needed + 1)
    ]

    async def work() -> Any:
        with errors.status("Opening the ballot box"):
            return await polls.count_poll(rules, None, poll_id, shares)

    try:
        tally = _run(settings, work)
    except DomainError as exc:
        errors.print(f"[bold red]Not counted:[/] {exc.message}", highlight=False)
        sys.exit(2)
    console.print(
        f"Counted and published: winners {', '.join(str(w) for w in tally.winners)}. "
        f"The published list: /polls/{poll_id}/ballots.json (check it with sip verify).",
        highlight=False,
    )


@main.group("audit")
def audit_group() -> None:
    """The audit log of what operators, the board and facilitators did."""


def _expected_head(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _sep, digest = value.partition(":")
    hexadecimal = len(digest) == 64 and not set(digest) - set("0123456789abcdef")
    if not seq.isdigit() or int(seq) < 1 or not hexadecimal:
        raise click.BadParameter("write it as SEQ:HASH, as `sip audit verify` printed it")
    return int(seq), digest


@audit_group.command("verify")
@click.option(
    "--expect",
    metavar="SEQ:HASH",
    callback=_expected_head,
    help="a head noted from an earlier run: that entry must still be in the chain, unchanged",
)
@click.pass_context
def audit_verify(ctx: click.Context, expect: tuple[int, str] | None) -> None:
    """Check the audit log's hash chain, from its first entry to its last.

    Exits 0 with the number of entries and the head (the last sequence number and its hash)
    when every entry holds. Exits 1 naming the first entry that was changed, removed or put
    in place of another.

    The chain alone cannot show that its last entries were cut off, or that someone able to
    write to the database rewrote it from some entry on: keep the head this command prints
    somewhere else (a ticket, the minutes), and check it later with --expect SEQ:HASH.
    """
    from core.audit.services import verify

    settings = _settings(ctx)

    async def work() -> Any:
        if settings.is_sqlite:
            await db.upgrade()  # like the other commands: a fresh SQLite file has no tables yet
        return await verify(expect)

    result = _run(settings, work)
    if not result.intact:
        where = f"entry {result.bad_seq}: " if result.bad_seq is not None else ""
        errors.print(
            f"[bold red]The audit log does not hold:[/] {where}{result.problem}. "
            f"{result.count} entries before it are intact.",
            highlight=False,
        )
        sys.exit(1)
    console.print(f"The audit log holds: {result.count} entries, chained.", highlight=False)
    if result.count:
        console.print(f"Head: {result.head_seq}:{result.head_hash}", highlight=False)


@main.group("notify")
def notify_group() -> None:
    """Notifications: the outbox relay."""


@notify_group.command("run")
@click.option("--once", is_flag=True, help="deliver what is due now, then exit")
@click.pass_context
def notify_run(ctx: click.Context, once: bool) -> None:
    """Deliver the notification outbox, with retries; runs until stopped (or --once).

    `sip serve` runs the same relay inside the server unless notifications.relay_in_server is
    false. Several relays may run at once: each message is claimed by one of them.
    """
    import logging
    import signal

    from piccolo.engine.postgres import PostgresEngine

    from core.notifications.relay import Relay, Round

    settings = _settings(ctx)
    registry = _registry(ctx)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    async def work() -> Round | None:
        if settings.is_sqlite:
            await db.upgrade()
        elif pending := await db.pending_migrations():
            errors.print(
                f"[bold red]The database needs {len(pending)} migration(s).[/] "
                "Run `sip db upgrade` first.",
                highlight=False,
            )
            sys.exit(2)
        engine = db.engine()
        if isinstance(engine, PostgresEngine):
            await engine.start_connection_pool(
                min_size=1, max_size=settings.notifications.concurrency + 2
            )
        relay = Relay(registry, settings)
        try:
            if once:
                return await relay.drain()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await relay.run(stop)
            return None
        finally:
            if isinstance(engine, PostgresEngine) and engine.pool is not None:
                await engine.close_connection_pool()

    done = _run(settings, work)
    if done is not None:
        console.print(
            f"Outbox: {done.sent} sent, {done.retrying} to retry later, {done.failed} failed "
            f"({done.reminders} closing reminder message(s) written).",
            highlight=False,
        )


@main.group("maintenance")
def maintenance_group() -> None:
    """Maintenance: pruning what the retention periods no longer keep."""


@maintenance_group.command("prune")
@click.pass_context
def maintenance_prune(ctx: click.Context) -> None:
    """Delete what [retention] in config.toml no longer keeps (the server does it too, every
    retention.prune_every_hours) and print the counts per kind."""
    from core.maintenance import PruneReport, prune

    settings = _settings(ctx)

    async def work() -> PruneReport:
        if settings.is_sqlite:
            await db.upgrade()
        return await prune(settings)

    report = _run(settings, work)
    table = Table("What", "Count", title="Pruned")
    for name, count in report.counts().items():
        table.add_row(name.replace("_", " "), str(count))
    console.print(table)
    if report.left_members_due:
        console.print(
            f"{report.left_members_due} member(s) who left longer ago than "
            f"{settings.retention.left_members_days} days are not erased yet.",
            highlight=False,
        )


def _recount_methods(ctx: click.Context) -> dict[str, Any]:
    """The voting methods a recount uses: the installation's (a plugin may add or replace
    one) or, where there is no installation, the core's: anyone may recount."""
    from core.config import ConfigNotFound
    from core.plugins import build_registry
    from core.voting import voting_methods
    from core.voting.methods import CORE_METHODS

    try:
        return voting_methods(build_registry(load_settings(ctx.obj.get("config"))))
    except ConfigNotFound:
        return {method.name: method for method in CORE_METHODS}
    except ConfigError as exc:
        errors.print(f"[bold red]Configuration error:[/] {exc}", highlight=False)
        sys.exit(2)


def file_limits(command: Callable[..., Any]) -> Callable[..., Any]:
    """The --max-* options of `sip tally` and `sip verify`: a ballot file's limits, raised."""
    options = (
        click.option(
            "--max-candidates",
            type=click.IntRange(min=2),
            default=None,
            metavar="N",
            help="read a file with more than 100 candidates (Schulze's time grows as N³)",
        ),
        click.option(
            "--max-ballots",
            type=click.IntRange(min=1),
            default=None,
            metavar="N",
            help="read more than 100,000 ballot lines (PrefLib) or ballots (an export)",
        ),
        click.option(
            "--max-file-size",
            type=click.IntRange(min=1),
            default=None,
            metavar="MB",
            help="read a file larger than 16 MB",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _file_limits(
    max_candidates: int | None, max_ballots: int | None, max_file_size: int | None
) -> Any:
    import dataclasses

    from core.voting.files import DEFAULT_LIMITS

    return dataclasses.replace(
        DEFAULT_LIMITS,
        candidates=max_candidates or DEFAULT_LIMITS.candidates,
        ballots=max_ballots or DEFAULT_LIMITS.ballots,
        file_bytes=max_file_size * 1024 * 1024 if max_file_size else DEFAULT_LIMITS.file_bytes,
    )


@main.command("tally")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--method", "method_name", default=None, help="voting method (a JSON export names it)"
)
@click.option("--seats", type=int, default=None, help="seats to fill (a JSON export says)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of text")
@file_limits
@click.pass_context
def tally_command(
    ctx: click.Context,
    file: str,
    method_name: str | None,
    seats: int | None,
    as_json: bool,
    max_candidates: int | None,
    max_ballots: int | None,
    max_file_size: int | None,
) -> None:
    """Count a ballot file: PrefLib .soc/.soi/.toc/.toi/.cat or the platform's .json export.

    Prints the winners and the working (scores, the pairwise matrix, the STV stages). Ties are
    broken by the order of the file's candidate list. Touches no database.

    A file past a limit (100 candidates, 100,000 ballot lines or ballots, 16 MB, counts of 18
    digits) is refused like a malformed one: a one-line message and exit code 2. The --max-*
    options raise the first three.
    """
    import json

    from rich.markup import escape

    from core.errors import InvalidInput
    from core.voting.base import check_seats
    from core.voting.files import BallotFileError, ballots_for, read_ballot_file
    from core.voting.report import json_report, text_report

    limits = _file_limits(max_candidates, max_ballots, max_file_size)
    methods = _recount_methods(ctx)

    try:
        with errors.status(f"Reading {escape(file)}"):
            data = read_ballot_file(file, methods, limits)
        name = method_name or data.method
        if name is None:
            raise InvalidInput(f"--method is required; installed methods: {', '.join(methods)}")
        if name not in methods:
            raise InvalidInput(
                f'unknown method "{name[:40]}"; installed methods: {", ".join(sorted(methods))}'
            )
        method = methods[name]
        seats = seats if seats is not None else data.seats
        if seats is None:
            raise InvalidInput("--seats is required: how many candidates to elect")
        check_seats(data.candidates, seats)
        for given, recorded, what in ((name, data.method, "method"), (seats, data.seats, "seats")):
            if recorded is not None and given != recorded:
                errors.print(
                    f"Note: the file's {what} is {recorded}; counting with {given}.",
                    markup=False,
                    highlight=False,
                )
        with errors.status(f"Counting {sum(data.ballots.values())} ballots"):
            result = method.tally(ballots_for(data, method, seats), data.candidates, seats)
    except InvalidInput as exc:
        # A file's own errors start with its name (and line); others get the file named here.
        where = "" if isinstance(exc, BallotFileError) else f" {escape(file)}"
        errors.print(f"[bold red]Cannot tally{where}:[/] {escape(exc.message)}", highlight=False)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(json_report(data, method, result), ensure_ascii=False))
    else:
        click.echo(text_report(data, method, result))


@main.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@file_limits
@click.pass_context
def verify_command(
    ctx: click.Context,
    file: str,
    max_candidates: int | None,
    max_ballots: int | None,
    max_file_size: int | None,
) -> None:
    """Recount a poll's published ballot list (.json) and check the announced winners.

    The file is read within the limits of `sip tally` (the same --max-* options raise them).
    """

    from rich.markup import escape

    from core.errors import InvalidInput
    from core.voting.files import (
        BallotFileError,
        ballots_for,
        printable,
        published_problems,
        read_ballot_file,
    )

    limits = _file_limits(max_candidates, max_ballots, max_file_size)
    methods = _recount_methods(ctx)
    try:
        data = read_ballot_file(file, methods, limits)
    except BallotFileError as exc:
        errors.print(f"[bold red]{escape(exc.message)}[/]", highlight=False)
        sys.exit(2)
    result = data.export.result if data.export is not None else None
    announced = result.get("winners") if isinstance(result, dict) else None
    if data.method is None or data.seats is None or not isinstance(announced, list):
        errors.print(
            f"{escape(file)}: not a published poll export (no result.winners to check).",
            highlight=False,
        )
        sys.exit(2)
    method = methods[data.method]
    try:
        tally = method.tally(ballots_for(data, method, data.seats), data.candidates, data.seats)
    except InvalidInput as exc:
        errors.print(f"[bold red]Cannot recount:[/] {escape(exc.message)}", highlight=False)
        sys.exit(2)
    ballots = sum(data.ballots.values())
    names = printable(", ".join(f"{n} {data.name(n)}".strip() for n in tally.winners))
    problems = published_problems(data.export)
    for problem in problems:
        errors.print(f"[bold red]Does not hold:[/] {escape(problem)}.", highlight=False)
    if list(tally.winners) == announced and not problems:
        trackers = len(data.export.trackers)
        console.print(
            f"Confirmed: recounting {ballots} ballot(s) by {data.method} for {data.seats} "
            f"seat(s) elects {escape(names)}, as announced; {trackers} tracker(s), {ballots} "
            "ballot(s) and the participations agree, and the digest matches.",
            highlight=False,
        )
        return
    if list(tally.winners) != announced:
        shown = ", ".join(str(n) for n in announced[:20]) + (" ..." if len(announced) > 20 else "")
        errors.print(
            f"[bold red]Mismatch:[/] the recount of {ballots} ballot(s) elects {escape(names)}; "
            f"the file announces {escape(printable(shown[:200]))}.",
            highlight=False,
        )
    sys.exit(1)


if __name__ == "__main__":
    main()
