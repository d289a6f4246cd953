#!/usr/bin/env python3
"""The whole benchmark in one command: ``python3 bench/run.py`` (standard library only).

Builds one virtual environment per package under ``bench/.venvs/`` (the same
Django, DRF, gunicorn and drivers in each; rebuilt only when its requirements
change), measures every contender on every database/cache pairing, the purge and
a bare cache GET, and writes ``bench/results/<stamp>.json`` and ``.md`` plus
``latest.json`` / ``latest.md``.

All contenders of a pairing run at once, each in its own process, and take turns
round by round, so that whatever else loads the machine weighs on them alike. The
one-token figures are then measured a second time with fresh processes and
databases, so the table states the run-to-run noise next to the numbers.
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
    "durin": [f"-e{REPO}"],  # editable: always the working tree's src/durin
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
}
#: (database, cache) -> contenders measured side by side. PostgreSQL + local-memory is there
#: for the cached classes; the floor, DRF authtoken and simplejwt's stateless class come along
#: as the references the targets compare with.
PAIRINGS = {
    ("sqlite", "locmem"): list(CONTENDERS),
    ("postgres", "redis"): list(CONTENDERS),
    ("postgres", "locmem"): ["floor", "drf_token", "simplejwt_stateless", "durin1_cached",
                             "durin_cached"],
}  # fmt: skip
#: Many short rounds: on a shared machine, load comes and goes within seconds.
ROUNDS, PER_ROUND, WARMUP = 21, 120, 300
SCALED_ROUNDS, SCALED_PER_ROUND = 11, 100
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
    """A one-shot worker mode (cachefloor, purge, profile): its one JSON line."""
    proc = subprocess.run(
        [str(python), str(HERE / "worker.py"), *args],
        cwd=HERE, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"worker {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


class Worker:
    """A ``worker.py serve`` process: one contender on one database and cache."""

    def __init__(self, python: Path, contender: str, db: str, cache: str) -> None:
        self.contender = contender
        self.process = subprocess.Popen(
            [str(python), str(HERE / "worker.py"), "serve", contender, db, cache],
            cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.result: dict = {"contender": contender, "db": db, "cache": cache}

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.contender} died (see its stderr above)")
        return json.loads(line)

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.ask("quit")
            except (BrokenPipeError, RuntimeError):
                pass
            self.process.wait(60)


def interleaved(workers: list[Worker], rounds: int, requests: int) -> dict[str, list[float]]:
    """``rounds`` rounds of ``requests`` each, every worker once per round, in rotating order.

    Whatever else the machine does during a round weighs on every contender alike,
    and the ratios are taken round by round.
    """
    times: dict[str, list[float]] = {w.contender: [] for w in workers}
    for r in range(rounds):
        for w in workers[r % len(workers) :] + workers[: r % len(workers)]:
            times[w.contender].append(w.ask(f"round {requests}")["us"])
    return times


def summary(times: dict[str, list[float]], contender: str) -> dict:
    """Median µs and the medians of the round-by-round ratios to the floor and DRF authtoken."""
    mine = times[contender]
    out = {"median_us": round(statistics.median(mine), 1), "min_us": round(min(mine), 1),
           "max_us": round(max(mine), 1), "rounds_us": [round(t, 1) for t in mine]}  # fmt: skip
    for name, ref in (("x_floor", "floor"), ("x_drf_token", "drf_token")):
        if ref in times:
            out[name] = round(statistics.median(a / b for a, b in zip(mine, times[ref])), 3)
    return out


def pairing(
    pythons: dict[str, Path], contenders: list[str], db: str, cache: str, full: bool
) -> list[dict]:
    """All contenders of one database/cache pairing, measured side by side."""
    log(f"{db} + {cache}: setting up {len(contenders)} contenders")
    workers = [Worker(pythons[CONTENDERS[c][0]], c, db, cache) for c in contenders]
    try:
        for w in workers:
            ready = w.read()
            w.result["queries"] = ready["queries"]
            w.per_user, w.has_table = ready["per_user"], ready["has_table"]
        log(f"{db} + {cache}: in-process rounds")
        for w in workers:
            w.ask(f"round {WARMUP}")
        times = interleaved(workers, ROUNDS, PER_ROUND)
        for w in workers:
            w.result["inprocess"] = {**summary(times, w.contender), "per_round": PER_ROUND}
        log(f"{db} + {cache}: HTTP")
        for w in workers:
            w.ask("http_start")
        reps: dict[str, list[dict]] = {w.contender: [] for w in workers}
        for _ in range(WRK_REPS):
            for w in workers:
                reps[w.contender].append(w.ask(f"wrk {WRK_SECONDS}"))
        for w in workers:
            w.ask("http_stop")
            runs = reps[w.contender]
            w.result["http"] = {
                "requests_per_s": round(statistics.median(r["requests_per_s"] for r in runs)),
                "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
                "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
                "non_2xx": sum(r["non_2xx"] for r in runs),
                "runs": runs,
            }
        if full and (db, cache) != ("postgres", "locmem"):  # a hit reads no table: once is enough
            scaled(workers, "user_50_tokens", [w for w in workers if w.per_user],
                   "add_user_tokens 49", "remove_user_tokens")  # fmt: skip
            scaled(workers, "table_100k", [w for w in workers if w.has_table], "fill", None)
    finally:
        for w in workers:
            w.close()
    return [w.result for w in workers]


def scaled(
    workers: list[Worker], phase: str, changed: list[Worker], do: str, undo: str | None
) -> None:
    """Per-request cost after ``do`` on ``changed``, against the floor measured alongside.

    The floor (and every unchanged contender) keeps running rounds, so the change is
    also given as the change of the ratio to the floor, which cancels machine drift.
    """
    if not changed:
        return
    log(f"{phase}: {', '.join(w.contender for w in changed)}")
    for w in changed:
        w.ask(do)
        w.ask(f"round {WARMUP}")
    times = interleaved(workers, SCALED_ROUNDS, SCALED_PER_ROUND)
    for w in changed:
        data = {**summary(times, w.contender), "queries": w.ask("queries")}
        base = w.result["inprocess"]
        data["change"] = round(data["median_us"] / base["median_us"] - 1, 3)
        if "x_floor" in data:
            data["change_vs_floor"] = round(data["x_floor"] / base["x_floor"] - 1, 3)
        w.result[phase] = data
        if undo:
            w.ask(undo)


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    pg = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "show server_version"],
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
    parser.add_argument("--only", nargs="*", help="contenders to run (default: all)")
    parser.add_argument("--no-noise-pass", action="store_true", help="skip the second pass")
    parser.add_argument("--no-purge", action="store_true", help="skip the 1,000,000-row purge")
    options = parser.parse_args()
    started, load_before = time.monotonic(), os.getloadavg()
    contenders = options.only or list(CONTENDERS)
    pythons = {name: venv(name) for name in {CONTENDERS[c][0] for c in contenders} | {"durin"}}

    runs, noise = [], []
    for full in (True, False) if not options.no_noise_pass else (True,):
        for (db, cache), members in PAIRINGS.items():
            members = [c for c in members if c in contenders]
            if members:
                (runs if full else noise).extend(pairing(pythons, members, db, cache, full))
    log("bare cache GETs")
    floors = [worker(pythons["durin"], "cachefloor", cache) for cache in ("locmem", "redis")]
    purge = None
    if not options.no_purge:
        log("purge of 1,000,000 expired tokens")
        purge = worker(pythons["durin"], "purge")

    result = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
        "machine": {**machine(), "load_average_before": load_before},
        "settings": {
            "rounds": ROUNDS,
            "per_round": PER_ROUND,
            "scaled_rounds": SCALED_ROUNDS,
            "scaled_per_round": SCALED_PER_ROUND,
            "wrk_reps": WRK_REPS,
            "wrk_seconds": WRK_SECONDS,
        },
        "runs": runs,
        "noise_runs": noise,
        "cache_floor": floors,
        "purge": purge,
        "duration_s": round(time.monotonic() - started),
    }
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%MZ")
    for name in (stamp, "latest"):  # the JSON first: a report bug must not lose a run
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    sys.path.insert(0, str(HERE))
    from report import markdown

    text = markdown(result, {c: label for c, (_, label) in CONTENDERS.items()})
    for name in (stamp, "latest"):
        (RESULTS / f"{name}.md").write_text(text)
    log(f"done in {result['duration_s']} s: bench/results/{stamp}.md")
    print(text)


if __name__ == "__main__":
    main()
