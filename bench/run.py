#!/usr/bin/env python3
"""The whole benchmark in one command: ``python3 bench/run.py`` (standard library only).

Builds one virtual environment per package under ``bench/.venvs/`` (the same
Django, DRF, gunicorn and drivers in each; rebuilt only when its requirements
change), measures every contender on every database/cache pairing, whether the cost
stays flat as the tables grow, the purge and a bare cache GET, and writes
``bench/results/<stamp>.json`` and ``.md`` plus ``latest.json`` / ``latest.md``
(a run with any option writes ``<stamp>-partial.*`` only).

All contenders of a pairing run at once, each in its own process, and take turns
round by round, so that whatever else loads the machine weighs on them alike. The
one-token in-process figures are then measured a second time with fresh processes
and databases, so the tables state the run-to-run noise next to the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from report import NINJA_FLOORS, NINJA_REFERENCES, REFERENCES, costs, distribution, markdown

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENVS = HERE / ".venvs"
RESULTS = HERE / "results"

COMMON = [
    "Django==5.2.19",
    "djangorestframework==3.18.3",
    "gunicorn==23.0.0",
    "psycopg[binary]==3.3.9",
    "psycopg-pool==3.3.3",  # Django's connection pool ("OPTIONS": {"pool": True})
    "redis==8.1.0",
]
PACKAGES = {
    "drf": [],
    "knox": ["django-rest-knox==5.1.0"],
    "durin1": ["django-rest-durin==1.1.0", "django-cache-memoize==0.2.1"],
    "simplejwt": ["djangorestframework-simplejwt==5.5.1"],
    # editable: always the working tree's src/durin; django-ninja and uvicorn for the ninja part
    # (plain uvicorn: asyncio's loop and h11, no uvloop or httptools)
    "durin": [f"-e{REPO}", "django-ninja==1.7.1", "uvicorn==0.54.0"],
}
#: contender (a settings module under project/benchproject/settings) -> venv, label
CONTENDERS = {
    "floor": ("drf", "no authentication (floor)"),
    "drf_token": ("drf", "DRF TokenAuthentication"),
    "knox": ("knox", "django-rest-knox TokenAuthentication"),
    "durin1": ("durin1", "django-rest-durin 1.1.0 TokenAuthentication"),
    "durin1_cached": ("durin1", "django-rest-durin 1.1.0 CachedTokenAuthentication"),
    "simplejwt": ("simplejwt", "simplejwt JWTAuthentication"),
    "simplejwt_stateless": ("simplejwt", "simplejwt JWTStatelessUserAuthentication"),
    "durin": ("durin", "durin TokenAuthentication"),
    "durin_cached": ("durin", "durin CachedTokenAuthentication"),
    "durin_pg_prepared": ("durin", "durin TokenAuthentication, prepared statements"),
    "durin_pg_pool": ("durin", "durin TokenAuthentication, Django's pool"),
}
#: django-ninja (issue 13): ``GET /ninja/me/`` as a sync operation under WSGI (gunicorn) and
#: under ASGI (uvicorn), and as an async operation under ASGI, each behind durin's
#: ``TokenAuth(CachedTokenAuthentication)`` and without authentication (its own floor).
NINJA_CONTENDERS = {
    "ninja_floor": ("durin", "ninja sync operation, WSGI, no authentication (floor)"),
    "ninja_cached": ("durin", "ninja sync operation, WSGI, durin cached"),
    "ninja_asgi_floor": ("durin", "ninja sync operation, ASGI, no authentication (floor)"),
    "ninja_asgi_cached": ("durin", "ninja sync operation, ASGI, durin cached"),
    "ninja_async_floor": ("durin", "ninja async operation, ASGI, no authentication (floor)"),
    "ninja_async_cached": ("durin", "ninja async operation, ASGI, durin cached"),
}
#: The ninja part's workers: DRF's floor and durin's cached class beside them, the sync figures.
NINJA = ["floor", "durin_cached", *NINJA_CONTENDERS]
NINJA_PAIRINGS = (("sqlite", "locmem"), ("postgres", "redis"))
#: The ninja part's databases are named ``bench_nj_<contender>_<pid>``: its own names.
NINJA_DB_PREFIX = "bench_nj"
DRF_CONTENDERS = list(CONTENDERS)
CONTENDERS.update(NINJA_CONTENDERS)
#: durin's TokenAuthentication with psycopg 3 options: PostgreSQL only, beside the default.
PG_VARIANTS = ("durin_pg_prepared", "durin_pg_pool")
#: (database, cache) -> contenders measured side by side. PostgreSQL + local-memory is there
#: for the cached classes; the floor, DRF authtoken and simplejwt's stateless class come along
#: as the references the targets compare with.
PAIRINGS = {
    ("sqlite", "locmem"): [c for c in DRF_CONTENDERS if c not in PG_VARIANTS],
    ("postgres", "redis"): DRF_CONTENDERS,
    ("postgres", "locmem"): ["floor", "drf_token", "simplejwt_stateless", "durin1_cached",
                             "durin_cached"],
}  # fmt: skip
#: Flatness by default: durin's two classes (the targets) and knox, whose lookup does grow with
#: the user's tokens (evidence that the method sees a real effect). ``--scale all``: everyone.
SCALE_DEFAULT = ("durin", "durin_cached", "knox")
SCALE_PAIRINGS = (("sqlite", "locmem"), ("postgres", "redis"))  # a locmem hit reads no table
#: Many short rounds: on a shared machine, load comes and goes within seconds, and two workers
#: measured close together see the same load (on this VM, 155 rounds × 20 requests gave a median
#: 1.5-2.5× more precise than 31 × 100, for the same number of requests).
ROUNDS, PER_ROUND, WARMUP = 41, 60, 300
SCALE_ROUNDS, SCALE_PER_ROUND = 101, 30
#: Rotations of the measured session in the scale phase's ``rotated_50`` state.
ROTATIONS = 50
#: Contenders measured with reads routed to a replica (the scale phase's replica states):
#: durin's TokenAuthentication; a cached hit reads no database, and a miss is that lookup.
REPLICA_CONTENDERS = ("durin",)
#: Every state of the scale phase beyond ``base`` and ``control`` (``--scale-states``).
SCALE_STATES = ("user_50_tokens", "table_100k", "rotated_50", "replica_hit", "replica_miss")
WRK_REPS, WRK_SECONDS = 3, 2


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def venv(name: str) -> Path:
    """The venv's python, built (or rebuilt) when its requirements changed."""
    path = VENVS / name
    python = path / "bin" / "python"
    wanted = "\n".join(COMMON + PACKAGES[name])
    marker = path / ".requirements"
    if not (marker.is_file() and marker.read_text() == wanted and python.exists()):
        log(f"building venv {name}")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             *COMMON, *PACKAGES[name]],
            check=True,
        )  # fmt: skip
        marker.write_text(wanted)
    return python


def worker(python: Path, *args: str) -> dict:
    """A one-shot worker mode (cachefloor, purge): its one JSON line."""
    proc = subprocess.run(
        [str(python), str(HERE / "worker.py"), *args],
        cwd=HERE, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"worker {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


class Worker:
    """A ``worker.py serve`` process: one contender on one database and cache.

    ``name`` tells apart several workers of one contender (the scale phase's states);
    ``prefix`` starts its database's name (``<prefix>_<contender>_<pid>``).
    """

    def __init__(self, python: Path, contender: str, db: str, cache: str, name: str = "",
                 prefix: str = "bench") -> None:  # fmt: skip
        self.contender, self.name = contender, name or contender
        self.process = subprocess.Popen(
            [str(python), str(HERE / "worker.py"), "serve", contender, db, cache, prefix],
            cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.result: dict = {"contender": contender, "db": db, "cache": cache}

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} died (see its stderr above)")
        return json.loads(line)

    def send(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def ask(self, command: str) -> dict:
        self.send(command)
        return self.read()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.ask("quit")
            except (BrokenPipeError, RuntimeError):
                pass
            self.process.wait(60)


def all_ask(workers: list[Worker], command: str) -> list[dict]:
    """The same command to every worker at once (setup work runs in parallel)."""
    for w in workers:
        w.send(command)
    return [w.read() for w in workers]


def interleaved(workers: list[Worker], rounds: int, requests: int) -> dict[str, list[float]]:
    """``rounds`` rounds of ``requests`` each, every worker once per round, in rotating order.

    Whatever else the machine does during a round weighs on every contender alike,
    and the ratios are taken round by round.
    """
    times: dict[str, list[float]] = {w.name: [] for w in workers}
    for r in range(rounds):
        for w in workers[r % len(workers) :] + workers[: r % len(workers)]:
            times[w.name].append(w.ask(f"round {requests}")["us"])
    return times


def summary(times: dict[str, list[float]], contender: str, floors: dict[str, str] | None = None,
            references: tuple[str, ...] = REFERENCES) -> dict:  # fmt: skip
    """Median µs, the medians of the round-by-round ratios to the floor and DRF authtoken,
    the cost (µs over the floor) and its round-by-round ratio to each reference's cost.

    ``floors``: a contender's own floor where it is not ``floor`` (the ninja part)."""
    mine = times[contender]
    floor = (floors or {}).get(contender, "floor")
    out = {"median_us": round(statistics.median(mine), 1), "min_us": round(min(mine), 1),
           "max_us": round(max(mine), 1), "rounds_us": [round(t, 1) for t in mine]}  # fmt: skip
    if floors:
        out["floor"] = floor
    for name, ref in (("x_floor", floor), ("x_drf_token", "drf_token")):
        if ref in times:
            out[name] = round(statistics.median(a / b for a, b in zip(mine, times[ref])), 3)
    return {**out, **costs(times, contender, references, floors)}


def pairing(pythons: dict[str, Path], contenders: list[str], db: str, cache: str,
            rounds: int, http: bool, ninja: bool = False) -> list[dict]:  # fmt: skip
    """All contenders of one database/cache pairing, measured side by side (``ninja``: the
    ninja part's, each cost over its own floor)."""
    log(f"{db} + {cache}: setting up {len(contenders)} contenders")
    prefix = NINJA_DB_PREFIX if ninja else "bench"
    workers = [Worker(pythons[CONTENDERS[c][0]], c, db, cache, prefix=prefix) for c in contenders]
    try:
        for w in workers:
            ready = w.read()
            w.result.update(queries=ready["queries"], per_user=ready["per_user"],
                            has_table=ready["has_table"], rotates=ready["rotates"])  # fmt: skip
            if ninja:  # how it is called and served, its thread hops per request
                w.result.update({k: ready[k] for k in ("interface", "path", "server", "diag")})
        log(f"{db} + {cache}: in-process rounds")
        all_ask(workers, f"round {WARMUP}")
        times = interleaved(workers, rounds, PER_ROUND)
        for w in workers:
            figures = (summary(times, w.name, NINJA_FLOORS, NINJA_REFERENCES) if ninja
                       else summary(times, w.name))  # fmt: skip
            w.result["inprocess"] = {**figures, "per_round": PER_ROUND}
        if db == "postgres" and not ninja:
            for w, info in zip(workers, all_ask(workers, "pginfo")):
                w.result["postgres"] = info
        if http:
            measure_http(workers, f"{db} + {cache}")
    finally:
        for w in workers:
            w.close()
    return [w.result for w in workers]


def measure_http(workers: list[Worker], where: str) -> None:
    """gunicorn (uvicorn for an ASGI worker) + wrk for every worker, the runs interleaved.

    uvicorn keeps the connection alive and gunicorn's sync worker does not, so an ASGI
    worker is also measured with ``Connection: close`` (``http_close``): a TCP connect per
    request, as under gunicorn."""
    log(f"{where}: HTTP")
    for w in workers:
        w.ask("http_start")
    modes = [(w, "") for w in workers]
    modes += [(w, " close") for w in workers if w.result.get("interface") == "asgi"]
    reps: dict[tuple[str, str], list[dict]] = {(w.name, close): [] for w, close in modes}
    for _ in range(WRK_REPS):
        for w, close in modes:
            reps[w.name, close].append(w.ask(f"wrk {WRK_SECONDS}{close}"))
    for w in workers:
        w.ask("http_stop")
    for w, close in modes:
        runs = reps[w.name, close]
        w.result["http_close" if close else "http"] = {
            "requests_per_s": round(statistics.median(r["requests_per_s"] for r in runs)),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
            "non_2xx": sum(r["non_2xx"] for r in runs),
            "runs": runs,
        }


def scale(pythons: dict[str, Path], run: dict, rounds: int, wanted: tuple[str, ...]) -> dict:
    """Is the cost flat as the table and the user's tokens grow? Paired workers, one phase.

    A worker's state cannot be switched back and forth between rounds, so each state
    is its own worker, and all of them take turns round by round with the floor:
    ``base`` (one token), ``control`` (a second, identical one-token worker: how far two
    identical workers differ in this phase, i.e. the noise), ``user_50_tokens`` (the
    user holds 50), ``table_100k`` (100,000 other users' tokens in the table) and, for a
    package that rotates tokens, ``rotated_50`` (the token's session rotated 50 times, and
    100,000 replaced tokens kept in all: the current token's lookup must not pay for them)
    and, for ``REPLICA_CONTENDERS``, reads routed to a read replica that holds the token
    (``replica_hit``: one query, on the replica) or lacks it (``replica_miss``: the replica,
    then the primary). Only the ``wanted`` states run.

    The change of the cost is, round by round, (state − base) ÷ base's median cost over
    the floor: a paired difference, so the floor's own noise stays out of it.
    """
    contender, db, cache = run["contender"], run["db"], run["cache"]
    states = {"base": None, "control": None}
    if run["per_user"]:
        states["user_50_tokens"] = "add_user_tokens 49"
    if run["has_table"]:
        states["table_100k"] = "fill"
    if run.get("rotates"):
        states["rotated_50"] = f"rotate {ROTATIONS}"
    if contender in REPLICA_CONTENDERS:
        states.update(replica_hit="replica hit", replica_miss="replica miss")
    states = {name: setup for name, setup in states.items() if setup is None or name in wanted}
    log(f"{db} + {cache}: scale of {contender} ({', '.join(states)})")
    python = pythons[CONTENDERS[contender][0]]
    workers = [Worker(pythons["drf"], "floor", db, cache)]
    workers += [Worker(python, contender, db, cache, name=state) for state in states]
    try:
        for w in workers:
            w.read()
        changed = [w for w in workers if states.get(w.name)]
        for w in changed:
            w.send(states[w.name])
        setup = {w.name: w.read() for w in changed}
        all_ask(workers, f"round {WARMUP}")
        times = interleaved(workers, rounds, SCALE_PER_ROUND)
        queries = {w.name: w.ask("queries")["per_request"] for w in workers[1:]}
    finally:
        for w in workers:
            w.close()
    base = statistics.median(t - f for t, f in zip(times["base"], times["floor"]))
    out = {"rounds": rounds, "per_round": SCALE_PER_ROUND, "base_cost_us": round(base, 1),
           "rounds_us": {name: [round(t, 1) for t in ts]
                         for name, ts in times.items()}}  # fmt: skip
    for name in list(states)[1:]:
        change = [(t - b) / base for t, b in zip(times[name], times["base"])] if base > 0 else []
        out[name] = {"change": distribution(change), "queries": queries[name],
                     "setup_s": setup.get(name, {}).get("seconds")}  # fmt: skip
        if "history" in setup.get(name, {}):  # rotated_50: the replaced tokens kept
            out[name]["history"] = setup[name]["history"]
    return out


def ninja_members(only: list[str] | None) -> list[str]:
    """The ninja part's workers: all of them, or those ``--only`` names with the floors their
    costs are over (none when ``--only`` names no contender of that part)."""
    if not only:
        return list(NINJA)
    chosen = {c for c in only if c in NINJA and c != "floor"}
    chosen |= {NINJA_FLOORS.get(c, "floor") for c in chosen}
    return [c for c in NINJA if c in chosen]


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    pg = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                         "show server_version"],
                        capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    info = subprocess.run(["redis-cli", "INFO", "server"], capture_output=True, text=True,
                          check=False).stdout  # fmt: skip
    redis = next((line.split(":")[1].strip() for line in info.splitlines()
                  if line.startswith("redis_version")), "")  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "postgresql": pg,
        "redis": redis,
        "load_average": os.getloadavg(),
        "packages": COMMON + [p for name in PACKAGES for p in PACKAGES[name] if "-e" not in p],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="CONTENDER",
        choices=list(CONTENDERS),
        help="contenders to run (the floor always runs: costs are over it)",
    )
    parser.add_argument(
        "--pairings",
        nargs="+",
        metavar="DB+CACHE",
        choices=[f"{db}+{cache}" for db, cache in PAIRINGS],
        help="pairings to run (default: all three)",
    )
    parser.add_argument(
        "--scale",
        nargs="+",
        metavar="CONTENDER",
        choices=[*CONTENDERS, "all"],
        help=f"contenders whose flatness is measured, or 'all' "
        f"(default: {' '.join(SCALE_DEFAULT)})",
    )
    parser.add_argument("--no-scale", action="store_true", help="skip the scale phase")
    parser.add_argument("--scale-states", nargs="+", metavar="STATE", choices=SCALE_STATES,
                        help="states of the scale phase besides the one-token base and its "
                        f"control (default: all of {' '.join(SCALE_STATES)})")  # fmt: skip
    parser.add_argument("--no-http", action="store_true", help="skip gunicorn + wrk")
    parser.add_argument("--no-noise-pass", action="store_true", help="skip the second pass")
    parser.add_argument("--noise-http", action="store_true",
                        help="HTTP in the second pass too (about 3.5 more minutes)")  # fmt: skip
    parser.add_argument("--no-purge", action="store_true", help="skip the 1,000,000-row purge")
    parser.add_argument("--ninja", action="store_true",
                        help="the django-ninja part instead of the DRF comparison (sync and "
                        "async operations, WSGI and ASGI, beside DRF's cached class; --only, "
                        "--pairings, --no-http, --no-noise-pass, --rounds apply)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"in-process rounds ({ROUNDS})")
    parser.add_argument("--scale-rounds", type=int, default=SCALE_ROUNDS,
                        help=f"rounds of the scale phase ({SCALE_ROUNDS})")  # fmt: skip
    options = parser.parse_args()  # fmt: skip
    started, load_before = time.monotonic(), os.getloadavg()
    contenders = ["floor"] + [c for c in options.only or DRF_CONTENDERS if c != "floor"]
    pairings = [p for p in PAIRINGS if not options.pairings or "+".join(p) in options.pairings]
    if options.ninja:  # the ninja part alone: no DRF pairing, no scale phase, no purge
        pairings, options.no_scale, options.no_purge = [], True, True
    ninja = ninja_members(options.only) if options.ninja else []
    ninja_pairings = [p for p in NINJA_PAIRINGS
                      if not options.pairings or "+".join(p) in options.pairings]  # fmt: skip
    scaled = [] if options.no_scale else options.scale or list(SCALE_DEFAULT)
    if scaled == ["all"]:
        scaled = list(CONTENDERS)
    wanted = {CONTENDERS[c][0] for c in (contenders if pairings else []) + ninja} | {"durin"}
    pythons = {name: venv(name) for name in wanted}
    partial = sys.argv[1:] != []

    runs, noise = [], []
    for db, cache in pairings:
        members = [c for c in PAIRINGS[db, cache] if c in contenders]
        runs.extend(pairing(pythons, members, db, cache, options.rounds, not options.no_http))
    for run in runs:
        if (
            run["contender"] in scaled
            and (run["db"], run["cache"]) in SCALE_PAIRINGS
            and (
                run["per_user"]
                or run["has_table"]
                or run["rotates"]
                or run["contender"] in REPLICA_CONTENDERS
            )
        ):
            states = tuple(options.scale_states or SCALE_STATES)
            run["scale"] = scale(pythons, run, options.scale_rounds, states)
    ninja_runs, ninja_noise = [], []
    for db, cache in ninja_pairings if ninja else []:
        ninja_runs.extend(pairing(pythons, ninja, db, cache, options.rounds, not options.no_http,
                                  ninja=True))  # fmt: skip
    if not options.no_noise_pass:  # in process: HTTP's own noise shows in its interleaved runs
        http = options.noise_http and not options.no_http
        for db, cache in pairings:
            members = [c for c in PAIRINGS[db, cache] if c in contenders]
            noise.extend(pairing(pythons, members, db, cache, options.rounds, http))
        for db, cache in ninja_pairings if ninja else []:
            ninja_noise.extend(pairing(pythons, ninja, db, cache, options.rounds, http, ninja=True))
    log("bare cache GETs")
    floors = [worker(pythons["durin"], "cachefloor", cache) for cache in ("locmem", "redis")]
    purge = None
    if not options.no_purge:
        log("purge of 1,000,000 expired tokens")
        purge = worker(pythons["durin"], "purge")

    result = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                 capture_output=True, text=True, check=False).stdout.strip(),
        "machine": {**machine(), "load_average_before": load_before},
        "settings": {
            "rounds": options.rounds,
            "per_round": PER_ROUND,
            "scale_rounds": options.scale_rounds,
            "scale_per_round": SCALE_PER_ROUND,
            "wrk_reps": WRK_REPS,
            "wrk_seconds": WRK_SECONDS,
            "arguments": sys.argv[1:],
        },
        "runs": runs,
        "noise_runs": noise,
        "ninja_runs": ninja_runs,
        "ninja_noise_runs": ninja_noise,
        "cache_floor": floors,
        "purge": purge,
        "duration_s": round(time.monotonic() - started),
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%MZ")
    names = [f"{stamp}-partial"] if partial else [stamp, "latest"]  # a part never is "latest"
    for name in names:  # the JSON first: a report bug must not lose a run
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    text = markdown(result, {c: label for c, (_, label) in CONTENDERS.items()})
    for name in names:
        (RESULTS / f"{name}.md").write_text(text)
    log(f"done in {result['duration_s']} s: bench/results/{names[0]}.md")
    print(text)


if __name__ == "__main__":
    main()
