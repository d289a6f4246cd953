"""Turns a run's JSON into the markdown tables and the verdicts on the issue's targets.

``python3 bench/report.py bench/results/latest.json`` re-renders a stored run;
``python3 bench/report.py A.json B.json`` says how far two whole runs agree.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

#: A change smaller than this is called flat even when the two passes agreed more closely.
FLAT = 0.05
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "locmem": "local-memory", "redis": "Redis"}


def _key(run: dict) -> tuple[str, str, str]:
    return run["contender"], run["db"], run["cache"]


def _find(runs: list[dict], contender: str, db: str, cache: str) -> dict | None:
    return next((r for r in runs if _key(r) == (contender, db, cache)), None)


def spread(run: dict, other: dict | None, field: str = "x_floor") -> float | None:
    """Relative difference of ``field`` between the two passes."""
    if not other or field not in run["inprocess"]:
        return None
    a, b = run["inprocess"][field], other["inprocess"][field]
    return abs(b - a) / a


def _ratio(figures: dict, name: str) -> str:
    """A ratio, or n/a when its reference contender was not run (``--only``)."""
    return f"{figures[name]:.2f}" if name in figures else "n/a"


def _scaled(run: dict, phase: str) -> str:
    data = run.get(phase)
    if not data:
        return "n/a"
    change = data.get("change_vs_floor", data["change"])
    return f"{data['median_us']:.0f} ({change * 100:+.0f}%, {data['queries']['per_request']:g} q)"


def table(result: dict, labels: dict[str, str]) -> list[str]:
    lines = []
    pairings = dict.fromkeys((r["db"], r["cache"]) for r in result["runs"])
    for db, cache in pairings:
        lines += [
            f"#### {NAMES[db]}, {NAMES[cache]} cache",
            "",
            (
                "| contender | SQL / req | µs / req | × floor | × DRF authtoken | 2nd pass: µs, × floor "
                "| HTTP req/s | HTTP p99 ms | user holds 50 tokens | 100,000 tokens |"
            ),
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in result["runs"]:
            if (r["db"], r["cache"]) != (db, cache):
                continue
            p = r["inprocess"]
            other = _find(result.get("noise_runs", []), *_key(r))
            second = (
                f"{other['inprocess']['median_us']:.0f}, {_ratio(other['inprocess'], 'x_floor')}"
                if other else "n/a"
            )  # fmt: skip
            q = r["queries"]
            queries = f"{q['per_request']:g}" + (
                f" (max {q['max']})" if q["max"] != q["per_request"] else ""
            )
            lines.append(
                f"| {labels.get(r['contender'], r['contender'])} | {queries} | {p['median_us']:.0f} "
                f"| {_ratio(p, 'x_floor')} | {_ratio(p, 'x_drf_token')} | {second} "
                f"| {r['http']['requests_per_s']} | {r['http']['p99_ms']:.2f} "
                f"| {_scaled(r, 'user_50_tokens')} | {_scaled(r, 'table_100k')} |"
            )
        lines.append("")
    return lines


def targets(runs: list[dict], result: dict, noise: list[dict] | None) -> list[tuple[bool, str]]:
    """The issue's targets on one pass: ``(met, what was measured)``."""
    out: list[tuple[bool, str]] = []

    def say(ok: bool, text: str) -> None:
        out.append((ok, text))

    def us(contender: str, db: str, cache: str) -> float | None:
        r = _find(runs, contender, db, cache)
        return r["inprocess"]["median_us"] if r else None

    for db, cache in (("sqlite", "locmem"), ("postgres", "redis")):
        durin = _find(runs, "durin", db, cache)
        if not durin:
            continue
        q = durin["queries"]["per_request"]
        say(q == 1, f"{db}: durin TokenAuthentication makes {q:g} SQL query per request")
        x = durin["inprocess"].get("x_drf_token")
        if x is None:  # DRF authtoken was not run (--only)
            continue
        say(
            x <= 1.10,
            f"{db}: durin TokenAuthentication costs {x:.2f}× DRF authtoken "
            f"({us('durin', db, cache):.0f} vs {us('drf_token', db, cache):.0f} µs; "
            "target at most 1.10×)",
        )
        for rival in ("knox", "durin1"):
            other = us(rival, db, cache)
            if other:
                mine = durin["inprocess"]["median_us"]
                say(
                    mine < other,
                    f"{db}: durin TokenAuthentication {mine:.0f} µs vs "
                    f"{rival} {other:.0f} µs ({(mine / other - 1) * 100:+.0f}%; "
                    "target faster)",
                )
    for db, cache in (("sqlite", "locmem"), ("postgres", "locmem"), ("postgres", "redis")):
        cached = _find(runs, "durin_cached", db, cache)
        if not cached:
            continue
        q = cached["queries"]["per_request"]
        say(
            q == 0,
            f"{db} + {cache}: durin CachedTokenAuthentication makes {q:g} SQL queries on a hit",
        )
        x = cached["inprocess"]["x_floor"]
        if cache == "locmem":
            jwt = _find(runs, "simplejwt_stateless", db, cache)
            if jwt:
                jx = jwt["inprocess"]["x_floor"]
                say(
                    x <= jx,
                    f"{db} + locmem: durin cached costs {x:.2f}× the floor, "
                    f"simplejwt stateless {jx:.2f}× (target: no more)",
                )
        else:
            old = _find(runs, "durin1_cached", db, cache)
            if old:
                mine, theirs = cached["inprocess"]["median_us"], old["inprocess"]["median_us"]
                floor = us("floor", db, cache)
                saving = 1 - mine / theirs
                above = 1 - (mine - floor) / (theirs - floor)
                say(
                    saving >= 0.30,
                    f"{db} + redis: durin cached {mine:.0f} µs vs django-rest-durin 1.1.0 "
                    f"cached {theirs:.0f} µs per request, {saving * 100:.0f}% cheaper "
                    f"(target at least 30%); above the floor ({floor:.0f} µs) "
                    f"{mine - floor:.0f} vs {theirs - floor:.0f} µs, {above * 100:.0f}% cheaper",
                )
    for r in runs:
        if r["contender"] not in ("durin", "durin_cached"):
            continue
        other = _find(noise or [], *_key(r))
        noise_here = spread(r, other) or 0
        for phase, what in (("user_50_tokens", "one user holding 50 tokens"),
                            ("table_100k", "100,000 tokens in the table")):  # fmt: skip
            if phase in r:
                change = r[phase].get("change_vs_floor", r[phase]["change"])
                say(
                    abs(change) <= max(FLAT, noise_here),
                    f"{r['contender']} on {r['db']} + {r['cache']}: {change * 100:+.1f}% "
                    f"with {what} (relative to the floor; flat = within "
                    f"max(5%, the pass-to-pass spread {noise_here * 100:.1f}%))",
                )
    return out


def verdicts(result: dict) -> list[str]:
    first = targets(result["runs"], result, result.get("noise_runs"))
    second = targets(result.get("noise_runs") or [], result, None)
    lines = []

    def shape(text: str) -> str:  # the same target in the other pass: the text but its numbers
        return re.sub(r"[-+]?\d[\d.,]*", "#", text)

    for ok, text in first:
        again = next((ok2 for ok2, text2 in second if shape(text2) == shape(text)), None)
        status = "met" if ok else "**MISSED**"
        if again is not None and again != ok:
            status += " (the other way in the 2nd pass)"
        lines.append(f"- {status}: {text}.")
    return lines


def markdown(result: dict, labels: dict[str, str]) -> str:
    m, s = result["machine"], result["settings"]
    lines = [
        f"### Results: {result['date']} (commit {result['commit']})",
        "",
        (
            f"{m['cpu']}, {m['cores']} cores, shared with other work (1-minute load average "
            f"{m['load_average_before'][0]:.1f} at the start, {m['load_average'][0]:.1f} at the end); "
            f"Python {m['python']}; "
            f"PostgreSQL {m['postgresql']}; Redis {m['redis']}; {', '.join(m['packages'])}. "
            f"The whole run took {result['duration_s'] // 60} min {result['duration_s'] % 60} s."
        ),
        "",
        (
            f"µs / req: in process, median of {s['rounds']} rounds × {s['per_round']} warm requests "
            "(a direct WSGI call through Django's handler, middleware and DRF, as gunicorn makes it); "
            "the contenders of a table run side by side and take turns round by round; × floor and "
            "× DRF authtoken are medians of the round-by-round ratios. 2nd pass: the same with fresh "
            f"processes and databases. HTTP: gunicorn with 1 sync worker, `wrk -t1 -c1 "
            f"-d{s['wrk_seconds']}s` on loopback, median of {s['wrk_reps']} runs after a 1 s warm-up. "
            f"Scaling columns: median of {s['scaled_rounds']} rounds × {s['scaled_per_round']} "
            "requests, the change of the ratio to the floor against the one-token figure, and SQL "
            "queries per request."
        ),
        "",
        *table(result, labels),
    ]
    floors = ", ".join(
        f"{NAMES[f['cache']]} {f['median_us']:.1f} µs" for f in result["cache_floor"]
    )
    lines += [
        f"One bare `cache.get()` of a 16-character value through Django's cache API: {floors}.",
        "",
    ]
    noise = result.get("noise_runs") or []
    pairs = [(r, _find(noise, *_key(r))) for r in result["runs"] if r["contender"] != "floor"]
    ratio = sorted(x for r, o in pairs if (x := spread(r, o)) is not None)
    micro = sorted(x for r, o in pairs if (x := spread(r, o, "median_us")) is not None)
    if ratio:
        lines += [
            (
                "Noise between the two passes: the ratio to the floor moved by "
                f"{statistics.median(ratio) * 100:.1f}% (median over {len(ratio)} rows; "
                f"{ratio[-1] * 100:.1f}% at most), the raw µs by {statistics.median(micro) * 100:.1f}% "
                f"({micro[-1] * 100:.1f}% at most)."
            ),
            "",
        ]
    p = result.get("purge")
    if p:
        lines += [
            (
                f"Purge: `manage.py purge_expired_tokens` deleted {p['rows']:,} expired durin tokens "
                f"from PostgreSQL in {p['seconds']} s, peak RSS {p['peak_rss_mb']} MB "
                f"(`manage.py check` in the same venv: {p['baseline_rss_mb']} MB); rows left: "
                f"{p['rows_left']}."
            ),
            "",
        ]
    bare = next((f for f in result["cache_floor"] if f["cache"] == "redis"), None)
    cached = _find(result["runs"], "durin_cached", "postgres", "redis")
    floor = _find(result["runs"], "floor", "postgres", "redis")
    if bare and cached and floor:
        above = cached["inprocess"]["median_us"] - floor["inprocess"]["median_us"]
        lines += [
            (
                f"durin's cached class on Redis costs {above:.0f} µs above the floor; a bare Redis GET "
                f"costs {bare['median_us']:.0f} µs, so the class spends {above - bare['median_us']:.0f} µs "
                f"beyond its one round trip ({above / bare['median_us']:.2f}× a bare GET)."
            ),
            "",
        ]
    lines += ["#### Targets", "", *verdicts(result), ""]
    return "\n".join(lines)


def compare(first: dict, second: dict) -> str:
    """How far two whole runs agree: ratios, raw µs, HTTP and each target's verdict."""

    def moved(get) -> list[float]:
        out = []
        for r in second["runs"]:
            other = _find(first["runs"], *_key(r))
            if other and r["contender"] != "floor" and get(other) and get(r):
                out.append(abs(get(r) / get(other) - 1))
        return sorted(out)

    def line(what: str, values: list[float]) -> str:
        return (f"- {what}: {statistics.median(values) * 100:.1f}% (median over {len(values)} "
                f"rows), {values[-1] * 100:.1f}% at most")  # fmt: skip

    lines = [f"### Two whole runs: {first['date']} and {second['date']}", ""]
    lines.append(line("ratio to the floor", moved(lambda r: r["inprocess"]["x_floor"])))
    lines.append(line("raw µs per request", moved(lambda r: r["inprocess"]["median_us"])))
    lines.append(line("HTTP requests/s", moved(lambda r: r["http"]["requests_per_s"])))
    for phase in ("user_50_tokens", "table_100k"):
        lines.append(line(f"ratio to the floor, {phase}",
                          moved(lambda r, p=phase: r.get(p, {}).get("x_floor"))))  # fmt: skip
    a = targets(first["runs"], first, first.get("noise_runs"))
    b = targets(second["runs"], second, second.get("noise_runs"))
    shape = {re.sub(r"[-+]?\d[\d.,]*", "#", text): ok for ok, text in a}
    for ok, text in b:
        before = shape.get(re.sub(r"[-+]?\d[\d.,]*", "#", text))
        if before is not None and before != ok:
            lines.append(
                f"- verdict changed ({'met' if before else 'missed'} in the first run): {text}"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import CONTENDERS

    runs = [json.loads(Path(arg).read_text()) for arg in sys.argv[1:]]
    if len(runs) == 2:
        print(compare(*runs))
    else:
        print(markdown(runs[0], {c: label for c, (_, label) in CONTENDERS.items()}))
