"""The SQLite engine the platform runs on: long-lived connections and grouped commits.

Piccolo's own SQLite engine opens a new connection for every query outside a transaction, and
every write commits (and syncs the disk) on its own. Here instead, per event loop:

* **one writer connection**. Every write transaction (``IMMEDIATE``, or a single write
  statement) runs on it as a *unit* inside a savepoint. Units that arrive while another one
  runs join the same SQLite transaction, and one ``COMMIT`` (synced to disk: WAL with
  ``synchronous=FULL``) ends the group. Each unit is acknowledged (its ``async with`` block
  returns) only after that commit is on disk. A unit that fails is rolled back to its savepoint
  and leaves the others untouched; a commit that fails fails every unit of its group.
* **a few reader connections** for queries outside a transaction and for read snapshots
  (``DEFERRED`` transactions), so reads never wait for the writer.

Each connection is the standard library's ``sqlite3`` on a thread of its own (``Connection``),
so the engine relies on no other library's private attributes.

Several event loops (the test client runs the application on its own) each get their own
connections; SQLite's file locks keep them apart as they keep several processes apart.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

#: A group ends when nobody waits any more, or at these sizes (bounded latency for the first).
GROUP_MAX_UNITS = 32
GROUP_MAX_SECONDS = 0.005
READERS_PER_LOOP = 4
_UNIT = "sip_unit"


class WriteGroupFailed(Exception):
    """The commit of a group of writes failed: none of them is in the database."""


class Connection:
    """A ``sqlite3`` connection that lives on a thread of its own.

    Work reaches the thread as a function and its arguments through a queue; the result (or
    the exception) comes back to the caller's event loop. A whole unit of work (statements
    before, the statement, its rows) is one trip, where a cursor API would take three.
    """

    __slots__ = ("_db", "_jobs", "_thread")

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        # A daemon thread: an idle connection must not keep the process alive at exit.
        self._thread = threading.Thread(target=self._serve, name="sip-sqlite", daemon=True)

    @classmethod
    async def open(cls, kwargs: dict[str, Any]) -> Connection:
        connection = cls()
        connection._thread.start()
        await connection.call(connection._connect, kwargs)
        return connection

    def _connect(self, kwargs: dict[str, Any]) -> None:
        self._db = sqlite3.connect(**{**kwargs, "check_same_thread": False})
        self._db.row_factory = dict_factory
        self._db.execute("PRAGMA foreign_keys = ON").close()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, function, args = job
            try:
                result, error = function(*args), None
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                result, error = None, exc
            if future is None:
                continue
            try:
                future.get_loop().call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:  # the caller's loop is closed: nobody waits any more
                pass

    def call(self, function: Any, *args: Any) -> asyncio.Future[Any]:
        """Run ``function(*args)`` on the connection's thread; await the answer."""
        future = asyncio.get_running_loop().create_future()
        self._jobs.put((future, function, args))
        return future

    async def execute_fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """One statement and its rows (the name aiosqlite gives it)."""
        return await self.call(_fetch_now, self, (), sql, args)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "the connection is not open"
        return self._db

    @property
    def in_transaction(self) -> bool:
        return self._db is not None and self._db.in_transaction

    async def close(self) -> None:
        if self._db is not None:
            await self.call(self._db.close)
        self._jobs.put(None)

    def close_from_elsewhere(self) -> None:
        """Close a connection whose event loop is gone (or is another thread's): nobody is
        called back."""
        if self._db is not None:
            self._jobs.put((None, self._db.close, ()))
        self._jobs.put(None)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _fetch_now(
    connection: Connection, before: Sequence[str], sql: str, args: Sequence[Any]
) -> list[Any]:
    db = connection.db
    for statement in before:
        db.execute(statement).close()
    cursor = db.execute(sql, args)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


def _run_now(connection: Connection, statements: Sequence[str]) -> None:
    for sql in statements:
        connection.db.execute(sql).close()


def _many_now(connection: Connection, before: Sequence[str], sql: str, rows: Sequence[Any]) -> None:
    db = connection.db
    for statement in before:
        db.execute(statement).close()
    db.executemany(sql, rows).close()


async def _fetch(
    connection: Connection, sql: str, args: Sequence[Any] = (), before: Sequence[str] = ()
) -> Any:
    """One statement (after ``before``) and its rows in one trip to the connection's thread."""
    return await connection.call(_fetch_now, connection, before, sql, args)


async def _run(connection: Connection, *statements: str) -> None:
    """Statements without results (BEGIN, SAVEPOINT, RELEASE, COMMIT) in one trip."""
    await connection.call(_run_now, connection, statements)


class _Group:
    """Units that share one SQLite transaction and learn together whether it committed."""

    __slots__ = ("done", "started", "units")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.done: asyncio.Future[None] = loop.create_future()
        self.started = time.monotonic()
        self.units = 0


class _Writer:
    """The writer connection of one event loop and the group currently open on it.

    A unit's ``BEGIN``/``SAVEPOINT`` travel with its first statement, and its ``RELEASE``
    with the group's ``COMMIT``: every trip to the connection's thread is a turn of the event
    loop while the writer is held, so a vote costs four trips, not seven.
    """

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs
        self.connection: Connection | None = None
        self.lock = asyncio.Lock()
        self.waiting = 0
        self.group: _Group | None = None
        self.pending: list[str] = []  # to send before the unit's first statement
        self.commits = 0
        self.units = 0

    async def enter(self) -> _Group:
        """Take the writer for a unit (the first unit of a group will begin the transaction)."""
        self.waiting += 1
        try:
            await self.lock.acquire()
        finally:
            self.waiting -= 1
        try:
            if self.connection is None:
                self.connection = await Connection.open(self.kwargs)
        except BaseException:
            self.lock.release()
            raise
        if self.group is None:
            self.group = _Group(asyncio.get_running_loop())
            self.pending = ["BEGIN IMMEDIATE", f"SAVEPOINT {_UNIT}"]
        else:
            self.pending = [f"SAVEPOINT {_UNIT}"]
        return self.group

    def _take_pending(self) -> list[str]:
        pending, self.pending = self.pending, []
        return pending

    async def fetch(self, sql: str, args: Sequence[Any]) -> Any:
        assert self.connection is not None
        return await _fetch(self.connection, sql, args, self._take_pending())

    async def many(self, sql: str, rows: Sequence[Any]) -> None:
        assert self.connection is not None
        await self.connection.call(_many_now, self.connection, self._take_pending(), sql, rows)

    async def rollback_unit(self) -> None:
        assert self.connection is not None
        if not self.pending:  # the unit ran statements: undo them, keep the savepoint
            await _run(self.connection, f"ROLLBACK TO {_UNIT}")

    async def leave(self, group: _Group, ok: bool) -> None:
        """Close the unit; commit the group unless others are waiting to join it."""
        connection = self.connection
        assert connection is not None
        try:
            statements: list[str] = []
            if self.pending:  # the unit ran no statement: nothing to release
                self.pending = []
                if group.units == 0 and not connection.in_transaction:
                    self.group = None  # nothing began: nothing to commit
                    group.done.set_result(None)
                    return
            elif not connection.in_transaction:
                # BEGIN failed, or SQLite rolled everything back (disk full, I/O error).
                await self._finish(error=sqlite3.OperationalError("the transaction was lost"))
                return
            elif ok:
                statements.append(f"RELEASE {_UNIT}")
                group.units += 1
                self.units += 1
            else:
                statements += [f"ROLLBACK TO {_UNIT}", f"RELEASE {_UNIT}"]
            full = (
                group.units >= GROUP_MAX_UNITS
                or time.monotonic() - group.started >= GROUP_MAX_SECONDS
            )
            if self.waiting and not full:
                if statements:
                    await _run(connection, *statements)  # the next unit joins this group
                return
            await self._finish(before=statements)
        except BaseException as exc:
            await self._finish(error=exc)
            raise
        finally:
            self.lock.release()

    async def _finish(
        self, *, before: Sequence[str] = (), error: BaseException | None = None
    ) -> None:
        """Commit the group (after ``before``), or roll it back when ``error`` is given; every
        unit of the group learns the outcome."""
        group, self.group = self.group, None
        if group is None:
            return
        connection = self.connection
        assert connection is not None
        try:
            if error is None:
                await _run(connection, *before, "COMMIT")
                self.commits += 1
            elif connection.in_transaction:
                await _run(connection, "ROLLBACK")
        except BaseException as exc:  # noqa: BLE001 - every unit of the group must hear of it
            error = exc
            if connection.in_transaction:
                try:
                    await _run(connection, "ROLLBACK")
                except sqlite3.Error:
                    pass
        if error is None:
            group.done.set_result(None)
        elif group.units:
            failure = WriteGroupFailed(f"the commit of {group.units} write(s) failed: {error}")
            failure.__cause__ = error
            group.done.set_exception(failure)
        else:
            group.done.set_result(None)  # nobody waits on an empty group


class _Readers:
    """Idle reader connections of one event loop."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs
        self.idle: list[Connection] = []
        self.all: list[Connection] = []
        self.slots = asyncio.Semaphore(READERS_PER_LOOP)

    async def acquire(self) -> Connection:
        await self.slots.acquire()
        try:
            if self.idle:
                return self.idle.pop()
            connection = await Connection.open(self.kwargs)
            self.all.append(connection)
            return connection
        except BaseException:
            self.slots.release()
            raise

    def release(self, connection: Connection, *, healthy: bool = True) -> None:
        if healthy:
            self.idle.append(connection)
        else:
            self.all.remove(connection)
            connection.close_from_elsewhere()
        self.slots.release()


class _LoopState:
    def __init__(self, loop: asyncio.AbstractEventLoop, kwargs: dict[str, Any]) -> None:
        self.loop = loop
        self.writer = _Writer(kwargs)
        self.readers = _Readers(kwargs)

    def connections(self) -> list[Connection]:
        found = list(self.readers.all)
        if self.writer.connection is not None:
            found.append(self.writer.connection)
        return found


class PooledTransaction(SQLiteTransaction):
    """A transaction of the pooled engine: a write unit (``IMMEDIATE``/``EXCLUSIVE``) on the
    writer, or a read snapshot (``DEFERRED``) on a reader. Nested ones join their parent."""

    __slots__ = ("_group", "_reader_state")

    engine: PooledSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        state = self.engine._state()
        self._group: _Group | None = None
        self._reader_state: _LoopState | None = None
        if self.transaction_type is TransactionType.deferred:
            self._reader_state = state
            self.connection = await state.readers.acquire()
            try:
                await _run(self.connection, "BEGIN DEFERRED")
            except BaseException:
                state.readers.release(self.connection, healthy=False)
                raise
        else:
            self._group = await state.writer.enter()
            self.connection = state.writer.connection
        self.context = self.engine.current_transaction.set(self)
        return self

    async def savepoint(self, name: str | None = None) -> Any:
        """Not offered: a write unit already runs in a savepoint of its group's transaction."""
        raise NotImplementedError("savepoints are not offered by the pooled SQLite engine")

    async def commit(self) -> None:
        """Inside a write unit the group commits; marking the unit done is all there is."""
        self._committed = True

    async def rollback(self) -> None:
        self._rolled_back = True
        if self._group is not None:
            await self.engine._state().writer.rollback_unit()
        else:
            await _run(self.connection, "ROLLBACK")

    async def executemany(self, sql: str, rows: Sequence[Any]) -> None:
        """One statement for many rows (``?`` placeholders), in this transaction."""
        if self._parent is not None:
            await self._parent.executemany(sql, rows)
        elif self._group is not None:
            await self.engine._state().writer.many(sql, rows)
        else:
            await self.connection.call(_many_now, self.connection, (), sql, rows)

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        self.engine.current_transaction.reset(self.context)
        if self._group is not None:
            ok = exception is None and not self._rolled_back
            writer = self.engine._state().writer
            # Shielded: a cancelled request must not leave the writer locked or a group open.
            await asyncio.shield(writer.leave(self._group, ok))
            if ok:
                await asyncio.shield(self._group.done)  # acknowledged once on disk
            return exception is None
        state = self._reader_state
        assert state is not None
        healthy = True
        try:
            if self.connection.in_transaction:
                await _run(self.connection, "COMMIT" if exception is None else "ROLLBACK")
        except BaseException:
            healthy = False
            raise
        finally:
            state.readers.release(self.connection, healthy=healthy)
        return exception is None


def _is_read(sql: str) -> bool:
    return sql.lstrip().lstrip("(").lstrip()[:6].upper() == "SELECT"


class PooledSQLiteEngine(SQLiteEngine):
    """:class:`SQLiteEngine` with long-lived connections and grouped, durable commits."""

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._states: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self._states_lock = threading.Lock()

    # -- per event loop ---------------------------------------------------------------------

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            with self._states_lock:
                for old_loop, old in list(self._states.items()):
                    if old_loop.is_closed():  # a finished loop's connections: let them go
                        del self._states[old_loop]
                        for connection in old.connections():
                            connection.close_from_elsewhere()
                state = self._states[loop] = _LoopState(loop, self.connection_kwargs)
        return state

    def stats(self) -> dict[str, int]:
        """Commits and units of this loop's writer (the benchmark reports the grouping)."""
        writer = self._state().writer
        return {"commits": writer.commits, "units": writer.units}

    async def close(self) -> None:
        """Close every connection this engine opened (on any loop)."""
        with self._states_lock:
            states, self._states = list(self._states.values()), {}
        current = asyncio.get_running_loop()
        for state in states:
            for connection in state.connections():
                if state.loop is current:
                    await connection.close()
                else:
                    connection.close_from_elsewhere()

    # -- Piccolo's interface ----------------------------------------------------------------

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> PooledTransaction:
        return PooledTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        # Piccolo re-sends ``PRAGMA foreign_keys`` before every query; ours set it once.
        return await _fetch(connection, query, args or ())

    async def _run_outside(self, query: str, args: list[Any] | None) -> Any:
        if _is_read(query):
            readers = self._state().readers
            connection = await readers.acquire()
            healthy = True
            try:
                return await self._run_in_existing_connection(connection, query, args)
            except sqlite3.Error:
                healthy = not connection.in_transaction
                raise
            finally:
                readers.release(connection, healthy=healthy)
        async with self.transaction(TransactionType.immediate):
            return await self._state().writer.fetch(query, args or ())

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False) -> Any:
        query, args = querystring.compile_string(engine_type=self.engine_type)
        return await self._run(query, args)

    async def run_ddl(self, ddl: str, in_pool: bool = False) -> Any:
        return await self._run(ddl, None)

    async def _run(self, query: str, args: list[Any] | None) -> Any:
        query_id = self.get_query_id()
        if self.log_queries:
            self.print_query(query_id=query_id, query=query)
        current = self.current_transaction.get()
        if current is not None and current._group is not None:
            response = await self._state().writer.fetch(query, args or ())
        elif current is not None:
            response = await self._run_in_existing_connection(current.connection, query, args)
        else:
            response = await self._run_outside(query, args)
        if self.log_responses:
            self.print_response(query_id=query_id, response=response)
        return response
