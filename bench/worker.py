"""One contender, one database, one cache: measured inside that contender's venv.

Started by ``run.py`` as ``<venv>/bin/python worker.py MODE ...``; speaks JSON
lines on stdout. Modes:

- ``serve CONTENDER DB CACHE [PREFIX]``: fresh database (named ``PREFIX_CONTENDER_PID``,
  ``bench`` by default), one user, one token; then answers
  ``run.py``'s commands: SQL queries per request, a round of in-process requests
  (a direct WSGI call through the whole Django/DRF stack, as gunicorn makes it; for a
  contender whose settings say ``BENCH_INTERFACE = "asgi"``, Django's ASGI handler driven
  by an event loop, as uvicorn drives it), HTTP through gunicorn (uvicorn) + wrk, 50
  tokens for the user, 100,000 tokens in the table, the token's session rotated 50 times
  among 100,000 replaced tokens (``rotate``), reads routed to a read replica that holds
  the token or lacks it (``replica hit|miss``), what PostgreSQL has prepared on this
  connection (``pginfo``).
- ``cachefloor CACHE``: one bare cache GET of a small value, what a cache hit cannot beat.
- ``purge``: ``manage.py purge_expired_tokens`` on 1,000,000 expired durin tokens (PostgreSQL).

For a person (where the microseconds go; print text or JSON, run with a venv's python):

- ``tree CONTENDER [DB CACHE]``: the call tree under ``authenticate()`` alone, µs per call.
  It uses only DRF's API, so it works whatever durin's internals are called.
- ``profile CONTENDER [DB CACHE]``: cProfile of the whole authenticated request.
- ``parts [CACHE DB]``: each step of durin's hot path timed alone (no profiler overhead);
  a step that this version of durin no longer has is reported, not fatal.
- ``hit CONTENDER [CACHE]``: a cached class's hit next to one bare ``cache.get()``.
- ``ahit [CACHE]``: durin's ninja auth on a hit, ``authenticate`` against ``aauthenticate``
  on an event loop, next to the bare cache read each way.
- ``hops CONTENDER [DB CACHE]``: an ASGI contender's thread hops per request, by function.

DB is ``sqlite`` (default) or ``postgres``; CACHE ``locmem`` (default) or ``redis``.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "project"
WORK = Path(tempfile.gettempdir()) / "durin-bench"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

ROUNDS, WARMUP = 7, 300
FILL = 100_000
#: The database aliases whose queries ``count_queries`` counts (``replica`` adds one).
COUNTED = ["default"]


def configure(contender: str, db: str, cache: str, prefix: str = "bench") -> dict[str, str]:
    """Point the settings (this process's and a server's) at a fresh database."""
    name = f"{prefix}_{contender}_{os.getpid()}"
    if db == "postgres":
        recreate_pg(name)
        replica = f"{name}_replica"  # created by ``replicate``, if asked
    else:
        WORK.mkdir(parents=True, exist_ok=True)
        name, replica = str(WORK / f"{name}.sqlite3"), str(WORK / f"{name}_replica.sqlite3")
    env = {
        "DJANGO_SETTINGS_MODULE": f"benchproject.settings.{contender}",
        "BENCH_DB": db,
        "BENCH_DB_NAME": name,
        "BENCH_REPLICA_NAME": replica,
        "BENCH_CACHE": cache,
        "BENCH_CACHE_PREFIX": f"durin-bench-{os.getpid()}-{time.time_ns()}",
    }
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    return env


def recreate_pg(name: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def drop(env: dict[str, str]) -> None:
    from django.db import connections

    connections.close_all()
    for conn in connections.all():
        getattr(conn, "close_pool", lambda: None)()  # Django's pool keeps its own connections
    names = [env["BENCH_DB_NAME"], env.get("BENCH_REPLICA_NAME")]
    for name in filter(None, names):
        if env["BENCH_DB"] == "postgres":
            recreate_pg(name, drop_only=True)
        else:
            Path(name).unlink(missing_ok=True)


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def caller(header: str | None) -> Caller | AsgiCaller:
    """The in-process caller the contender's settings ask for (``BENCH_INTERFACE``), on its
    endpoint (``BENCH_PATH``; the DRF contenders' ``/me/`` by default)."""
    from django.conf import settings

    path = getattr(settings, "BENCH_PATH", "/me/")
    if getattr(settings, "BENCH_INTERFACE", "wsgi") == "asgi":
        return AsgiCaller(header, path)
    return Caller(header, path)


class Caller:
    """Calls the WSGI application the way a server would, with one Authorization header."""

    interface = "wsgi"

    def __init__(self, header: str | None, path: str = "/me/") -> None:
        from django.core.wsgi import get_wsgi_application

        self.app = get_wsgi_application()
        self.header, self.path = header, path

    def round(self, requests: int) -> float:
        """Mean µs per request over ``requests`` back-to-back requests."""
        start = time.perf_counter_ns()
        for _ in range(requests):
            self()
        return (time.perf_counter_ns() - start) / requests / 1000

    def environ(self) -> dict:
        env = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": self.path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if self.header:
            env["HTTP_AUTHORIZATION"] = self.header
        return env

    def __call__(self) -> tuple[str, bytes]:
        status = []
        result = self.app(self.environ(), lambda s, h, exc_info=None: status.append(s))
        try:
            body = b"".join(result)
        finally:
            result.close()
        return status[0], body


class AsgiCaller:
    """Drives Django's ASGI handler the way uvicorn does: one event loop for the process, one
    task per request with an HTTP scope, a ``receive`` that gives the (empty) body and then
    waits for a disconnect that never comes, a ``send`` that collects the response.

    Each request's task starts from the same empty context, as a server's tasks start from
    the server's: Django's per-context state (the ``caches`` handler's cache objects, among
    others) is then built per request, as it is under uvicorn, rather than inherited from
    this worker's setup. The loop counts its thread hops (``run_in_executor``) for ``diag``.
    """

    interface = "asgi"

    def __init__(self, header: str | None, path: str) -> None:
        from django.core.asgi import get_asgi_application

        self.app = get_asgi_application()
        self.header, self.path = header, path
        self.loop = asyncio.new_event_loop()
        self.server_context = contextvars.Context()
        self.hops = 0
        run_in_executor = self.loop.run_in_executor

        def counted(executor, func, *args):
            self.hops += 1
            return run_in_executor(executor, func, *args)

        self.loop.run_in_executor = counted

    def scope(self) -> dict:
        headers = [(b"host", b"127.0.0.1:8000")]
        if self.header:
            headers.append((b"authorization", self.header.encode("latin-1")))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    async def request(self) -> tuple[str, bytes]:
        messages: list[dict] = []
        body_sent = False

        async def receive() -> dict:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # no disconnect: the handler cancels this wait

        async def send(message: dict) -> None:
            messages.append(message)

        await self.app(self.scope(), receive, send)
        body = b"".join(m.get("body", b"") for m in messages[1:])
        return str(messages[0]["status"]), body

    async def requests(self, count: int) -> tuple[str, bytes]:
        for _ in range(count):
            # A copy of the server's context for each task (``create_task(context=...)`` is 3.11+).
            task = self.server_context.copy().run(self.loop.create_task, self.request())
            answer = await task
        return answer

    def __call__(self) -> tuple[str, bytes]:
        return self.loop.run_until_complete(self.requests(1))

    def round(self, requests: int) -> float:
        start = time.perf_counter_ns()
        self.loop.run_until_complete(self.requests(requests))
        return (time.perf_counter_ns() - start) / requests / 1000


class AllQueries:
    """Every SQL statement run in this process, whichever thread runs it: under ASGI sync code
    runs in a thread per request, on that thread's own connection, where Django's
    ``CaptureQueriesContext`` (one connection) would not see it."""

    def __init__(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        self.statements: list[str] = []
        self.lock = threading.Lock()
        connection_created.connect(self.install, weak=False)
        for conn in connections.all(initialized_only=True):
            self.install(None, conn)

    def install(self, sender, connection, **kwargs) -> None:
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.statements.append(sql)
        return execute(sql, params, many, context)


def count_queries(call: Caller | AsgiCaller, requests: int = 50) -> dict:
    """SQL queries of each of ``requests`` warm requests: the usual count and the largest.

    The usual count (the mode) is the per-request figure; a write made once a
    minute (durin's ``last_used``) shows up only in ``max``. Under ASGI every thread's
    connection is watched (``AllQueries``).
    """
    from contextlib import ExitStack

    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    counts, statements = [], set()
    if call.interface == "asgi":
        watch = AllQueries()
        for _ in range(requests):
            before = len(watch.statements)
            call()
            counts.append(len(watch.statements) - before)
        statements.update(sql[:200] for sql in watch.statements)
    else:
        for _ in range(requests):
            with ExitStack() as stack:
                captured = [
                    stack.enter_context(CaptureQueriesContext(connections[alias]))
                    for alias in COUNTED
                ]
                call()
            queries = [q for ctx in captured for q in ctx.captured_queries]
            counts.append(len(queries))
            statements.update(q["sql"][:200] for q in queries)
    return {
        "per_request": statistics.mode(counts),
        "max": max(counts),
        "statements": sorted(statements),
    }


def diag(call: Caller | AsgiCaller, requests: int = 50) -> dict:
    """Per warm request: thread hops (an ASGI caller's ``run_in_executor`` calls), threads
    started, cache objects Django built (``caches[alias]`` made anew) and Redis connections
    opened (redis-py's and redis.asyncio's ``Connection._connect``). Counted outside the
    timed rounds, by wrapping those functions for the while."""
    import redis.asyncio.connection
    import redis.connection
    from django.core.cache import caches

    counted = {
        "threads_started": (threading.Thread, "start"),
        "caches_built": (caches, "create_connection"),
        "redis_connections": (redis.connection.Connection, "_connect"),
        "async_redis_connections": (redis.asyncio.connection.Connection, "_connect"),
    }
    counts = dict.fromkeys(counted, 0)
    originals = {name: vars(owner).get(attr) for name, (owner, attr) in counted.items()}

    def counting(name: str, function):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return function(*args, **kwargs)

        return wrapper

    for name, (owner, attr) in counted.items():
        setattr(owner, attr, counting(name, getattr(owner, attr)))
    hops = getattr(call, "hops", 0)
    try:
        for _ in range(requests):
            call()
    finally:
        for name, (owner, attr) in counted.items():
            if originals[name] is None:
                delattr(owner, attr)  # it was the class's (or an inherited) attribute
            else:
                setattr(owner, attr, originals[name])
    return {
        "thread_hops": (getattr(call, "hops", 0) - hops) / requests,
        **{name: n / requests for name, n in counts.items()},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_wrk(text: str) -> dict:
    def seconds(value: str, unit: str) -> float:
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", text)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "requests_per_s": float(rps.group(1)) if rps else None,
        "p50_ms": round(seconds(*p50.groups()) * 1000, 3) if p50 else None,
        "p99_ms": round(seconds(*p99.groups()) * 1000, 3) if p99 else None,
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


#: How each interface is served over HTTP: one worker process each, on loopback.
SERVERS = {
    "wsgi": "gunicorn, 1 sync worker (closes the connection after each response)",
    "asgi": "uvicorn, 1 process, asyncio's own event loop and h11 (no uvloop, no httptools; "
    "keeps the connection alive)",
}


def server_command(interface: str, port: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if interface == "asgi":
        return [str(bin_dir / "uvicorn"), "benchproject.asgi:application", "--host", "127.0.0.1",
                "--port", str(port), "--loop", "asyncio", "--http", "h11", "--lifespan", "off",
                "--no-access-log", "--log-level", "warning"]  # fmt: skip
    return [str(bin_dir / "gunicorn"), "benchproject.wsgi:application", "--workers", "1",
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]  # fmt: skip


class Server:
    """gunicorn with 1 sync worker (or uvicorn, for an ASGI contender) on loopback, serving
    this contender's database."""

    def __init__(self, env: dict[str, str], header: str | None, interface: str = "wsgi",
                 path: str = "/me/") -> None:  # fmt: skip
        self.port = free_port()
        self.header, self.path = header, path
        self.process = subprocess.Popen(
            server_command(interface, self.port),
            cwd=PROJECT, env={**os.environ, **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{interface} server did not start") from None
                time.sleep(0.1)
        self.wrk(1)  # warm-up: imports, first connection, the cached classes' first miss

    def wrk(self, seconds: int, close: bool = False) -> dict:
        """``wrk`` with 1 thread and 1 connection for ``seconds``; ``close``: every request asks
        for ``Connection: close``, so each pays a TCP connect as under gunicorn's sync worker."""
        cmd = ["wrk", "-t1", "-c1", f"-d{seconds}s", "--latency"]
        if self.header:
            cmd += ["-H", f"Authorization: {self.header}"]
        if close:
            cmd += ["-H", "Connection: close"]
        out = subprocess.run(cmd + [f"http://127.0.0.1:{self.port}{self.path}"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        return {**parse_wrk(out), "seconds": seconds, "close": close}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def serve(contender: str, db: str, cache: str, prefix: str = "bench") -> None:
    """Set up, then answer one JSON line per command read from stdin (``run.py`` drives).

    The driver interleaves rounds of all contenders of a pairing, so that load from
    elsewhere on the machine falls on all of them alike.
    """
    env = configure(contender, db, cache, prefix)
    from benchproject.contenders import CONTENDERS
    from django.contrib.auth import get_user_model

    server = remove = None
    catch_up = lambda: None  # noqa: E731  (replaced by ``replica``)
    try:
        adapter = CONTENDERS[contender]()
        migrate()
        user = get_user_model().objects.create_user("bench", password=None)
        token = adapter.issue(user)
        header = f"{adapter.scheme} {token}" if adapter.scheme else None
        call = caller(header)
        status, body = call()
        # simplejwt's stateless TokenUser gives the id claim as a string
        expected = None if adapter.scheme is None else str(user.pk)
        seen = json.loads(body).get("user") if status.startswith("200") else "?"
        if (None if seen is None else str(seen)) != expected:
            raise RuntimeError(f"{contender}: unexpected response {status} {body[:200]!r}")
        call()  # the cached classes: the first request filled the cache
        reply({"queries": count_queries(call), "per_user": adapter.per_user,
               "has_table": adapter.has_table or contender == "simplejwt",
               "rotates": adapter.rotates, "interface": call.interface, "path": call.path,
               "server": SERVERS[call.interface], "diag": diag(call)})  # fmt: skip
        for line in sys.stdin:
            command, *args = line.split()
            if command == "round":
                catch_up()
                reply({"us": call.round(int(args[0]))})
            elif command == "queries":
                reply(count_queries(call))
            elif command == "http_start":
                server = Server(env, header, call.interface, call.path)
                reply({})
            elif command == "wrk":
                reply(server.wrk(int(args[0]), close=args[1:] == ["close"]))
            elif command == "http_stop":
                server.stop()
                server = None
                reply({})
            elif command == "add_user_tokens":
                remove = adapter.add_user_tokens(user, int(args[0]))
                call()
                reply({})
            elif command == "remove_user_tokens":
                remove()
                reply({})
            elif command == "fill":
                started = time.monotonic()
                model = get_user_model()
                fill_users(model)
                adapter.fill()
                analyze()
                call()
                reply({"seconds": round(time.monotonic() - started, 1)})
            elif command == "rotate":
                started = time.monotonic()
                token, history = adapter.rotate(user, int(args[0]), FILL)
                call.header = f"{adapter.scheme} {token}"
                analyze()
                call()  # the cached class: the new token's first request fills the cache
                reply({"seconds": round(time.monotonic() - started, 1), "history": history})
            elif command == "replica":
                started = time.monotonic()
                catch_up = replicate(env, holds_token=args[0] == "hit")
                call()  # the lookup compiled on the replica's connection
                reply({"seconds": round(time.monotonic() - started, 1)})
            elif command == "pginfo":
                reply(pg_info(call))
            elif command == "quit":
                break
    finally:
        if server:
            server.stop()
        drop(env)
    reply({"bye": True})


def replicate(env: dict[str, str], holds_token: bool):
    """Route every read to a read replica (the settings' ``replica`` alias: a second database on
    the same server, or a second SQLite file) holding the users and clients of now and, if
    ``holds_token``, the tokens; writes stay on the primary. A token the replica lacks is read
    there, then once more on the primary (durin's fallback for a token issued a moment ago).

    Returns what brings the replica's tokens up to date, called before each round: a real
    replica applies the primary's once-a-minute ``last_used`` write within its lag, while a
    copy that never did would find the use due on every request (an UPDATE each time).
    """
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections
    from django.test.utils import override_settings

    from durin.models import AuthToken, Client

    if env["BENCH_DB"] == "postgres":
        recreate_pg(env["BENCH_REPLICA_NAME"])
    call_command("migrate", database="replica", verbosity=0, interactive=False)
    for model in [get_user_model(), Client]:
        model._base_manager.using("replica").bulk_create(model._base_manager.using("default"))

    replica = connections["replica"]
    table = replica.ops.quote_name(AuthToken._meta.db_table)

    def catch_up() -> None:  # in SQL: a deletion through the ORM would send durin's signals
        with replica.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")
        tokens = AuthToken._base_manager
        tokens.using("replica").bulk_create(tokens.using("default"))

    if holds_token:
        catch_up()
    # As a project's settings would say; enabled for good (the worker never turns it off).
    override_settings(DATABASE_ROUTERS=["benchproject.routers.ReadsFromReplica"]).enable()
    COUNTED.append("replica")
    return catch_up if holds_token else lambda: None


def analyze() -> None:
    """On PostgreSQL, what autovacuum would have done by now after a bulk insert."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def pg_info(call: Caller) -> dict:
    """What this process's PostgreSQL connection does: binding, pool, prepared statements.

    psycopg prepares a statement only with server-side binding and a
    ``prepare_threshold`` (Django sets it to None unless OPTIONS gives one), after
    that many executions on one connection; ``pg_prepared_statements`` is the proof.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        return {}
    with CaptureQueriesContext(connection) as ctx:
        call()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [" ".join(row[0].split()) for row in cursor.fetchall()]
    lookups = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().startswith("SELECT")]

    def head(sql: str) -> str:  # the SQL up to its WHERE, the same whatever the binding
        return sql.split(" WHERE ")[0]

    options = connection.settings_dict["OPTIONS"]
    return {
        "server_side_binding": options.get("server_side_binding") is True,
        "prepare_threshold": connection.connection.prepare_threshold,
        "conn_max_age": connection.settings_dict["CONN_MAX_AGE"],
        "pool": connection.pool.get_stats() if connection.pool else None,
        "prepared_statements": [s[:200] for s in prepared],
        "lookup_prepared": bool(lookups)
        and all(any(head(s) == head(q) for s in prepared) for q in lookups),
    }


def fill_users(model) -> None:
    """``FILL`` users in one INSERT ... SELECT (bulk_create of 100,000 rows took minutes here)."""
    from django.db import connection
    from django.utils import timezone

    table, quote = model._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(table)} (password, is_superuser, username, first_name, "
            "last_name, email, is_staff, is_active, date_joined) "
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
            "SELECT '!', false, 'filler' || i, '', '', '', false, true, %s FROM n",
            [FILL, connection.ops.adapt_datetimefield_value(timezone.now())],
        )


def reply(data: dict) -> None:
    print(json.dumps(data), flush=True)


def cachefloor(cache: str) -> dict:
    """One ``cache.get`` of a small value through Django's cache API: the hit's lower bound."""
    configure("floor", "sqlite", cache)
    from django.core.cache import cache as django_cache

    django_cache.set("bench-small", "x" * 16, 300)
    assert django_cache.get("bench-small") == "x" * 16
    for _ in range(WARMUP):
        django_cache.get("bench-small")
    means = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(2000):
            django_cache.get("bench-small")
        means.append((time.perf_counter_ns() - start) / 2000 / 1000)
    django_cache.delete("bench-small")
    drop(dict(os.environ))
    return {"cache": cache, "median_us": round(statistics.median(means), 1),
            "min_us": round(min(means), 1), "max_us": round(max(means), 1)}  # fmt: skip


def purge(rows: int = 1_000_000) -> dict:
    """Fill durin_authtoken with ``rows`` expired tokens in SQL, then time the command."""
    env = configure("durin", "postgres", "redis")
    from django.contrib.auth import get_user_model
    from django.db import connection

    from durin.models import AuthToken, Client

    try:
        migrate()
        user = get_user_model().objects.create_user("bench", password=None)
        client = Client.objects.create(name="bench", session_limit=None)
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {AuthToken._meta.db_table} "
                "(digest, user_id, client_id, created, expiry, last_used, user_agent, name, hint) "
                "SELECT encode(sha256(i::text::bytea), 'hex'), %s, %s, "
                "now() - interval '2 days', now() - interval '1 day', NULL, '', '', '' "
                "FROM generate_series(1, %s) AS i",
                [user.pk, client.pk, rows],
            )
            cursor.execute("ANALYZE")
        fill_s = time.monotonic() - started
        connection.close()

        def timed(*args: str) -> tuple[float, int, str]:
            cmd = ["/usr/bin/time", "-v", sys.executable, "manage.py", *args]
            started = time.monotonic()
            proc = subprocess.run(cmd, cwd=PROJECT, env={**os.environ, **env},
                                  capture_output=True, text=True, check=True)  # fmt: skip
            elapsed = time.monotonic() - started
            rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)[1])
            return elapsed, rss, proc.stdout.strip()

        _, baseline_rss, _ = timed("check")
        elapsed, rss, output = timed("purge_expired_tokens")
        left = AuthToken.objects.count()
    finally:
        drop(env)
    return {
        "rows": rows,
        "fill_seconds": round(fill_s, 1),
        "seconds": round(elapsed, 1),
        "peak_rss_mb": round(rss / 1024, 1),
        "baseline_rss_mb": round(baseline_rss / 1024, 1),
        "rows_left": left,
        "output": output,
    }


def authenticated(contender: str, db: str, cache: str):
    """A fresh database with one user and one token: (env, Caller, DRF Request, authenticator)."""
    env = configure(contender, db, cache)
    from benchproject.contenders import CONTENDERS
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    try:
        adapter = CONTENDERS[contender]()
        migrate()
        user = get_user_model().objects.create_user("bench", password=None)
        header = f"{adapter.scheme} {adapter.issue(user)}"
        request = Request(RequestFactory().get("/me/", HTTP_AUTHORIZATION=header))
        authenticator = api_settings.DEFAULT_AUTHENTICATION_CLASSES[0]()
        authenticator.authenticate(request)  # a cached class: fills the cache
    except BaseException:
        drop(env)
        raise
    return env, Caller(header), request, authenticator


def profile(contender: str, db: str = "sqlite", cache: str = "locmem", requests: int = 5000) -> str:
    """cProfile of ``requests`` warm authenticated requests; the top functions by own time."""
    import cProfile
    import pstats

    env, call, _, _ = authenticated(contender, db, cache)
    try:
        for _ in range(WARMUP):
            call()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            call()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
    finally:
        drop(env)
    return f"{contender} on {db} + {cache}, {requests} requests\n{out.getvalue()}"


def tree(contender: str, db: str = "sqlite", cache: str = "locmem", calls: int = 3000) -> str:
    """Where ``authenticate()``'s microseconds go: its call tree, µs per call, under cProfile.

    The profiler inflates pure-Python steps more than C and I/O, so the tree is
    printed next to ``authenticate()`` timed without it; read shares, not sums.
    """
    import cProfile
    import pstats
    import timeit

    env, _, request, authenticator = authenticated(contender, db, cache)
    try:
        run = lambda: authenticator.authenticate(request)  # noqa: E731
        for _ in range(WARMUP):
            run()
        bare = statistics.median(timeit.repeat(run, number=calls // 5, repeat=7)) / (calls // 5)
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [run() for _ in range(calls)])
        stats = pstats.Stats(profiler).stats  # func -> (cc, nc, tt, ct, {caller: (cc, nc, tt, ct)})
    finally:
        drop(env)
    children: dict = {}
    for func, (*_, callers) in stats.items():
        for caller, edge in callers.items():
            children.setdefault(caller, []).append((edge[3], edge[1], func))
    root = max((f for f in stats if f[2] == "authenticate"), key=lambda f: stats[f][3])
    total = stats[root][3]
    lines = [
        f"{contender} on {db} + {cache}: authenticate() {bare * 1e6:.1f} µs without the "
        f"profiler, {total / calls * 1e6:.1f} µs under it ({calls} calls); "
        "µs per authenticate(), share, calls per authenticate()",
    ]

    def name(func) -> str:
        path, line, fn = func
        if path == "~":
            return fn
        parts = Path(path).parts
        short = "/".join(parts[parts.index("site-packages") + 1 :] if "site-packages" in parts
                         else parts[-2:])  # fmt: skip
        return f"{fn}  ({short}:{line})"

    def walk(func, depth: int, share: float, seen: frozenset) -> None:
        """``share``: the part of ``func``'s time spent on this path (cProfile keeps one
        level of callers, so a shared function's callees are split in proportion)."""
        for ct, nc, child in sorted(children.get(func, []), reverse=True):
            ct, nc = ct * share, nc * share
            if ct < total * 0.01 or child in seen:
                continue
            lines.append(f"{'  ' * depth}{ct / calls * 1e6:8.1f} {ct / total:6.1%} "
                         f"{nc / calls:6.1f}  {name(child)}")  # fmt: skip
            walk(child, depth + 1, ct / stats[child][3], seen | {child})

    lines.append(f"{total / calls * 1e6:8.1f} 100.0% {1:6.1f}  {name(root)}")
    walk(root, 1, 1.0, frozenset({root}))
    return "\n".join(lines)


def parts(cache: str = "locmem", db: str = "sqlite") -> dict:
    """µs of each step of durin's hot path, timed alone (no profiler overhead).

    The steps name durin's internals as of 2026-11; a step that a later version
    renamed or dropped shows as "n/a: <error>" (``tree`` needs no internal names).
    """
    import timeit

    env = configure("durin_cached", db, cache)
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from rest_framework.request import Request

    from durin import auth, crypto, services
    from durin import cache as durin_cache
    from durin.models import AuthToken, Client

    memo: dict = {}

    def once(name: str, make):  # a step's input, made on its first (warm-up) call
        if name not in memo:
            memo[name] = make()
        return memo[name]

    def stored() -> tuple:  # the cached entry and generation, as cache.read fetches them
        keys = [durin_cache.cache_key(once("digest", digest)), durin_cache.generation_key()]
        found = durin_cache.backend().get_many(keys)
        return found[keys[0]], found[keys[1]]

    try:
        migrate()
        user = get_user_model().objects.create_user("bench", password=None)
        token = AuthToken.objects.create(user, Client.objects.create(name="bench")).token
        header = f"Token {token}"
        call = Caller(header)
        cached, plain = auth.CachedTokenAuthentication(), auth.TokenAuthentication()
        request = Request(RequestFactory().get("/me/", HTTP_AUTHORIZATION=header))
        cached.authenticate(request)  # fills the cache
        digest = lambda: crypto.digest(token)  # noqa: E731
        steps = {
            "whole request (WSGI call), durin cached": call,
            "CachedTokenAuthentication.authenticate": lambda: cached.authenticate(request),
            "TokenAuthentication.authenticate": lambda: plain.authenticate(request),
            "header parsing (_header_bytes + split)": (
                lambda: auth._header_bytes(request)[0].split()
            ),
            "crypto.has_valid_checksum": lambda: crypto.has_valid_checksum(token),
            "crypto.digest (SHA-256)": digest,
            "cache.read (one get_many, then unpack)": (
                lambda: durin_cache.read(once("digest", digest))
            ),
            "cache backend get_many alone": lambda: stored(),
            "cache._unpack (the instances from the entry)": (
                lambda: durin_cache._unpack(*once("stored", stored))
            ),
            "TokenAuthentication.get_token (the SQL query)": (
                lambda: plain.get_token(once("digest", digest))
            ),
            "services.record_use (no write due)": lambda: services.record_use(
                once("loaded", lambda: plain.get_token(once("digest", digest))), timezone_now()
            ),
            "timezone.now": timezone_now,
        }
        out: dict[str, float | str] = {}
        for name, fn in steps.items():
            try:
                for _ in range(200):
                    fn()
            except Exception as exc:  # noqa: BLE001 - a step this version does not have
                out[name] = f"n/a: {type(exc).__name__}: {exc}"[:200]
                continue
            runs = timeit.repeat(fn, number=2000, repeat=7)
            out[name] = round(statistics.median(runs) / 2000 * 1e6, 2)
    finally:
        drop(env)
    return {"db": db, "cache": cache, "us": out}


def hit(contender: str, cache: str = "redis") -> dict:
    """A cached class's ``authenticate()`` on a hit next to one bare ``cache.get()``, alternating
    in one process: how close the class gets to the single round trip it cannot avoid."""
    import timeit

    env, _, request, authenticator = authenticated(contender, "postgres", cache)
    from django.core.cache import cache as django_cache

    try:
        django_cache.set("bench-small", "x" * 16, 300)
        steps = {"authenticate": lambda: authenticator.authenticate(request),
                 "bare cache.get": lambda: django_cache.get("bench-small")}  # fmt: skip
        samples: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(15):
            for name, fn in steps.items():
                samples[name].append(timeit.timeit(fn, number=300) / 300 * 1e6)
        django_cache.delete("bench-small")
    finally:
        drop(env)
    return {"contender": contender, "cache": cache,
            **{name: round(statistics.median(v), 1) for name, v in samples.items()}}  # fmt: skip


def ahit(cache: str = "redis", calls: int = 300, repeats: int = 15) -> dict:
    """durin's ninja ``TokenAuth(CachedTokenAuthentication)`` on a hit, sync against async, each
    alternating with the others in one process (µs per call, median of ``repeats``):

    - ``authenticate``: as a sync operation calls it (one cache object for the process, as
      under WSGI);
    - ``aauthenticate``: awaited on an event loop, as an async operation calls it, in a task
      started from an empty context, as a server starts each request's: Django then builds
      the cache object anew for each call, as it does per request under ASGI;
    - ``aauthenticate, one context``: awaited directly, the cache object built once;
    - ``empty task``: a task from an empty context that does nothing, the part of the second
      row that is not durin's;
    - the bare read each way: ``get_many`` in the thread, ``aget_many`` on the loop (durin's
      one round trip for the entry and the generation; a step this version of durin does not
      have shows ``n/a``).
    """
    import timeit

    from django.test import RequestFactory

    db = "postgres" if cache == "redis" else "sqlite"
    env = configure("ninja_async_cached", db, cache, "bench_nj")
    from benchproject.contenders import Durin
    from django.contrib.auth import get_user_model

    from durin import cache as durin_cache
    from durin import crypto
    from durin.auth import CachedTokenAuthentication
    from durin.contrib.ninja import TokenAuth

    try:
        migrate()
        user = get_user_model().objects.create_user("bench", password=None)
        token = Durin().issue(user)
        request = RequestFactory().get("/ninja/me/", HTTP_AUTHORIZATION=f"Token {token}")
        auth = TokenAuth(CachedTokenAuthentication)
        assert auth.authenticate(request).user_id == user.pk  # and the cache is filled
        loop, empty = asyncio.new_event_loop(), contextvars.Context()
        keys = [durin_cache.cache_key(crypto.digest(token)), durin_cache.generation_key()]

        async def nothing() -> None:
            pass

        async def fresh(make) -> None:
            for _ in range(calls):
                await empty.copy().run(loop.create_task, make())

        async def direct(make) -> None:
            for _ in range(calls):
                await make()

        steps = {
            "authenticate": lambda: [auth.authenticate(request) for _ in range(calls)],
            "aauthenticate": lambda: loop.run_until_complete(
                fresh(lambda: auth.aauthenticate(request))
            ),
            "aauthenticate, one context": lambda: loop.run_until_complete(
                direct(lambda: auth.aauthenticate(request))
            ),
            "empty task": lambda: loop.run_until_complete(fresh(nothing)),
            "get_many (sync)": lambda: [
                durin_cache.get_many(durin_cache.backend(), keys) for _ in range(calls)
            ],
            "aget_many (on the loop)": lambda: loop.run_until_complete(
                direct(lambda: durin_cache.aget_many(durin_cache.backend(), keys))
            ),
        }
        samples: dict[str, list[float]] = {}
        for name, step in list(steps.items()):
            try:
                step()  # warm-up: first connections, clients kept per loop
            except Exception as exc:  # noqa: BLE001 - a step this version does not have
                samples[name] = f"n/a: {type(exc).__name__}: {exc}"[:200]
                del steps[name]
        for _ in range(repeats):
            for name, step in steps.items():
                seconds = timeit.timeit(step, number=1)
                samples.setdefault(name, []).append(seconds / calls * 1e6)
        loop.close()
    finally:
        drop(env)
    return {"cache": cache, "us": {name: round(statistics.median(v), 1) if isinstance(v, list)
                                   else v for name, v in samples.items()}}  # fmt: skip


def hops(contender: str, db: str = "sqlite", cache: str = "locmem", requests: int = 50) -> dict:
    """What an ASGI contender's warm request runs in a thread: each ``run_in_executor`` call
    of the event loop, named by the sync function ``sync_to_async`` wrapped, per request.

    Run it on an authenticated contender and on its floor: what the first adds is durin's."""
    env = configure(contender, db, cache, "bench_nj")
    from benchproject.contenders import CONTENDERS
    from django.contrib.auth import get_user_model

    try:
        adapter = CONTENDERS[contender]()
        migrate()
        user = get_user_model().objects.create_user("bench", password=None)
        token = adapter.issue(user)
        call = caller(f"{adapter.scheme} {token}" if adapter.scheme else None)
        if call.interface != "asgi":
            raise SystemExit(f"{contender} is called through WSGI: no event loop, no hops")
        for _ in range(WARMUP):
            call()
        seen: dict[str, int] = {}
        run_in_executor = call.loop.run_in_executor

        def named(executor, func, *args):
            inner = getattr(getattr(getattr(func, "func", None), "__self__", None), "func", func)
            name = f"{getattr(inner, '__module__', '?')}.{getattr(inner, '__qualname__', inner)}"
            seen[name] = seen.get(name, 0) + 1
            return run_in_executor(executor, func, *args)

        call.loop.run_in_executor = named
        for _ in range(requests):
            call()
    finally:
        drop(env)
    return {"contender": contender, "db": db, "cache": cache,
            "per_request": {name: n / requests for name, n in seen.items()}}  # fmt: skip


def timezone_now():
    from django.utils import timezone

    return timezone.now()


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "serve":
        serve(*args)
    elif mode in ("cachefloor", "purge"):  # run.py reads their one JSON line
        reply({"cachefloor": cachefloor, "purge": purge}[mode](*args))
    else:
        modes = {"profile": profile, "tree": tree, "parts": parts, "hit": hit, "ahit": ahit,
                 "hops": hops}  # fmt: skip
        out = modes[mode](*args)
        print(out if isinstance(out, str) else json.dumps(out, indent=1, ensure_ascii=False))
