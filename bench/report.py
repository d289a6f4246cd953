"""Turns a run's JSON into markdown tables and the verdicts on the contract's targets (§8).

``python3 bench/report.py bench/results/latest.json`` re-renders a stored run;
``python3 bench/report.py A.json B.json`` says how far two whole runs agree.
"""

from __future__ import annotations

import json
import statistics
import sys
from itertools import combinations
from pathlib import Path

NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "locmem": "local-memory", "redis": "Redis"}
#: The contract's references: every contender's cost is also given as a ratio to each one's.
REF_LABELS = {
    "drf_token": "DRF authtoken",
    "simplejwt": "simplejwt",
    "simplejwt_stateless": "simplejwt stateless",
    "durin1": "durin 1.1.0",
    "durin1_cached": "durin 1.1.0 cached",
}
REFERENCES = tuple(REF_LABELS)
SQLITE, PG_REDIS, PG_LOCMEM = ("sqlite", "locmem"), ("postgres", "redis"), ("postgres", "locmem")
#: Contract §8 / issue 10: (contender, reference, bar, strictly below, pairings): the
#: contender's cost over the floor is at most ``bar`` × the reference's, in one run.
COST_TARGETS = [
    ("durin", "drf_token", 0.8, False, (SQLITE, PG_REDIS)),
    ("durin", "simplejwt", 1.0, True, (SQLITE, PG_REDIS)),
    ("durin", "durin1", 1.0, True, (SQLITE, PG_REDIS)),
    ("durin_cached", "simplejwt_stateless", 0.8, False, (SQLITE, PG_LOCMEM)),
    ("durin_cached", "durin1_cached", 0.6, False, (PG_REDIS,)),
]
#: SQL queries per request: one for the lookup, none on a cache hit.
QUERY_TARGETS = {"durin": 1, "durin_cached": 0}
FLAT_TARGETS = ("durin", "durin_cached")
SCALE_STATES = {
    "user_50_tokens": "the user holds 50 tokens",
    "table_100k": "100,000 tokens in the table",
    "rotated_50": "its session rotated 50 times, 100,000 replaced tokens kept",
}
#: The scale table's column for each state, and its short name in the SQL / req column.
SCALE_COLUMNS = {"user_50_tokens": ("user holds 50 tokens", "50"),
                 "table_100k": ("100,000 tokens", "100k"),
                 "rotated_50": ("rotated 50 times, 100,000 replaced", "rotated")}  # fmt: skip
#: A change smaller than this is flat even when the control worker agreed more closely.
FLAT = 0.05
#: The scale phase's read-replica states (CONTRACT §11): not flatness targets, the cost of
#: durin's fallback to the primary; shown in a table of their own.
REPLICA_STATES = {
    "replica_hit": "the replica holds the token",
    "replica_miss": "only the primary holds it (the fallback)",
}
#: The ninja part: each contender's cost is over its own floor (the same operation, interface
#: and server without authentication), and is compared with these contenders' costs.
NINJA_FLOORS = {
    "durin_cached": "floor",
    "ninja_cached": "ninja_floor",
    "ninja_asgi_cached": "ninja_asgi_floor",
    "ninja_async_cached": "ninja_async_floor",
}
NINJA_REFERENCES = ("durin_cached", "ninja_cached", "ninja_asgi_cached")
NINJA_REF_LABELS = {
    "durin_cached": "DRF, WSGI",
    "ninja_cached": "ninja sync, WSGI",
    "ninja_asgi_cached": "ninja sync, ASGI",
}


def median_error(d: dict) -> float:
    """The standard error of a median of ``n`` rounds, from their interquartile range
    (σ ≈ IQR / 1.349 for a normal spread; a median's error is ≈ 1.2533 σ / √n)."""
    return 1.2533 * (d["q3"] - d["q1"]) / 1.349 / d["n"] ** 0.5


def distribution(values: list[float]) -> dict:
    """Median, quartiles and range of per-round values."""
    v = sorted(values)
    if not v:
        return {}
    q1, _, q3 = statistics.quantiles(v, n=4) if len(v) > 1 else (v[0],) * 3
    return {"median": round(statistics.median(v), 4), "q1": round(q1, 4), "q3": round(q3, 4),
            "min": round(v[0], 4), "max": round(v[-1], 4), "n": len(v)}  # fmt: skip


def costs(times: dict[str, list[float]], name: str, references=REFERENCES,
          floors: dict[str, str] | None = None) -> dict:  # fmt: skip
    """The cost (µs over the floor in the same round) and, round by round, its ratio to
    each reference's cost: ``cost_vs_<reference>`` = (c − floor) / (reference − floor).

    Rounds where the reference was not above the floor are left out (``n`` says how many
    were kept); ``of_medians`` is the ratio of the median costs. ``floors``: a contender's
    own floor where it is not ``floor`` (then ``cost`` also holds the per-round costs'
    distribution); a floor has no cost."""
    floors = floors or {}

    def floor_of(contender: str) -> str:
        return floors.get(contender, "floor")

    if floor_of(name) not in times or name == "floor" or name in floors.values():
        return {}
    cost = [t - f for t, f in zip(times[name], times[floor_of(name)])]
    out: dict = {"cost_us": round(statistics.median(cost), 1)}
    if floors:
        out["cost"] = distribution(cost)
    for ref in references:
        if ref in times and ref != name and floor_of(ref) in times:
            ref_cost = [t - f for t, f in zip(times[ref], times[floor_of(ref)])]
            d = distribution([c / r for c, r in zip(cost, ref_cost) if r > 0])
            if d and statistics.median(ref_cost) > 0:  # a cross-check single rounds cannot swing
                d["of_medians"] = round(statistics.median(cost) / statistics.median(ref_cost), 4)
            out[f"cost_vs_{ref}"] = d
    return out


def _key(run: dict) -> tuple[str, str, str]:
    return run["contender"], run["db"], run["cache"]


def _find(runs: list[dict], contender: str, db: str, cache: str) -> dict | None:
    return next((r for r in runs if _key(r) == (contender, db, cache)), None)


def _times(runs: list[dict], db: str, cache: str) -> dict[str, list[float]]:
    return {r["contender"]: r["inprocess"]["rounds_us"] for r in runs
            if (r["db"], r["cache"]) == (db, cache)}  # fmt: skip


def derive(result: dict) -> None:
    """Fill in the cost figures of a run stored before they existed (from its rounds)."""
    for runs in (result["runs"], result.get("noise_runs") or []):
        for r in runs:
            if "cost_us" not in r["inprocess"]:
                r["inprocess"].update(costs(_times(runs, r["db"], r["cache"]), r["contender"]))


def pass_spread(run: dict, other: dict | None, field: str = "x_floor") -> float | None:
    """Relative difference of ``field`` between the two passes."""
    if not other or field not in run["inprocess"]:
        return None
    a, b = run["inprocess"][field], other["inprocess"][field]
    return abs(b - a) / a


def _ratio(figures: dict, name: str) -> str:
    """A ratio, or n/a when its reference contender was not run (``--only``)."""
    return f"{figures[name]:.2f}" if name in figures else "n/a"


def _iqr(d: dict | None, percent: bool = False) -> str:
    """``median (q1–q3)`` of a distribution, as ratios or as signed percentages."""
    if not d:
        return "n/a"
    if percent:
        return f"{d['median']:+.1%} ({d['q1']:+.1%} to {d['q3']:+.1%})"
    return f"{d['median']:.2f} ({d['q1']:.2f}–{d['q3']:.2f})"


def _label(labels: dict[str, str], contender: str) -> str:
    return labels.get(contender, contender)


def main_table(result: dict, labels: dict[str, str], db: str, cache: str) -> list[str]:
    noise = result.get("noise_runs") or []
    lines = [
        "| contender | SQL / req | µs / req | cost µs | × floor | 2nd pass: µs, × floor "
        "| HTTP req/s | HTTP p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["runs"]:
        if (r["db"], r["cache"]) != (db, cache):
            continue
        p, q, http = r["inprocess"], r["queries"], r.get("http")
        other = _find(noise, *_key(r))
        second = (f"{other['inprocess']['median_us']:.0f}, {_ratio(other['inprocess'], 'x_floor')}"
                  if other else "n/a")  # fmt: skip
        queries = f"{q['per_request']:g}" + (f" (max {q['max']})" if q["max"] != q["per_request"]
                                             else "")  # fmt: skip
        cost = f"{p['cost_us']:.0f}" if "cost_us" in p else "n/a"
        rps, p99 = (http["requests_per_s"], f"{http['p99_ms']:.2f}") if http else ("n/a",) * 2
        lines.append(
            f"| {_label(labels, r['contender'])} | {queries} | {p['median_us']:.0f} | {cost} "
            f"| {_ratio(p, 'x_floor')} | {second} | {rps} | {p99} |"
        )
    return lines + [""]


def cost_table(result: dict, labels: dict[str, str], db: str, cache: str) -> list[str]:
    """Each contender's cost over the floor ÷ each reference's: median (IQR) of the rounds."""
    runs = [r for r in result["runs"] if (r["db"], r["cache"]) == (db, cache)]
    refs = [ref for ref in REFERENCES if any(r["contender"] == ref for r in runs)]
    if not refs:
        return []
    lines = [
        "| cost ÷ the reference's | " + " | ".join(REF_LABELS[ref] for ref in refs) + " |",
        "| --- |" + " ---: |" * len(refs),
    ]
    for r in runs:
        if r["contender"] == "floor":
            continue
        p = r["inprocess"]
        cells = ["1" if ref == r["contender"] else _iqr(p.get(f"cost_vs_{ref}")) for ref in refs]
        lines.append(f"| {_label(labels, r['contender'])} | " + " | ".join(cells) + " |")
    return lines + [""]


def scale_table(result: dict, labels: dict[str, str], db: str, cache: str) -> list[str]:
    runs = [r for r in result["runs"] if (r["db"], r["cache"]) == (db, cache)
            and any(state in r.get("scale", {}) for state in SCALE_STATES)]  # fmt: skip
    if not runs:
        return []
    s = runs[0]["scale"]
    columns = " | ".join(title for title, _ in SCALE_COLUMNS.values())
    lines = [
        "Scale: the change of the cost over the floor against a one-token worker of the same "
        f"contender, measured side by side ({s['rounds']} rounds × {s['per_round']} requests; "
        "per round, the state's µs minus the one-token worker's, ÷ the latter's median cost): "
        "median (interquartile range) of the rounds. The control is a second, identical "
        "one-token worker: how far two processes differ in this phase.",
        "",
        f"| contender | cost µs, one token | control | {columns} "
        f"| SQL / req ({', '.join(short for _, short in SCALE_COLUMNS.values())}) |",
        "| --- | ---: | ---: | " + "---: | " * len(SCALE_COLUMNS) + "---: |",
    ]
    for r in runs:
        s = r["scale"]
        cells = [_iqr(s.get(state, {}).get("change"), percent=True)
                 for state in ("control", *SCALE_STATES)]  # fmt: skip
        queries = ", ".join(f"{s[state]['queries']:g}" if state in s else "n/a"
                            for state in SCALE_STATES)  # fmt: skip
        lines.append(f"| {_label(labels, r['contender'])} | {s['base_cost_us']:.0f} | "
                     + " | ".join(cells) + f" | {queries} |")  # fmt: skip
    return lines + [""]


def _added(change: dict, base_cost: float) -> str:
    """A change as a percentage of the base cost, in µs, with two standard errors."""
    return (f"{_iqr(change, percent=True)}; {change['median'] * base_cost:+.0f} µs "
            f"± {2 * median_error(change) * base_cost:.0f}")  # fmt: skip


def replica_table(result: dict, labels: dict[str, str], db: str, cache: str) -> list[str]:
    """Reads routed to a read replica, against the same class with no router."""
    runs = [r for r in result["runs"] if (r["db"], r["cache"]) == (db, cache)
            and any(state in r.get("scale", {}) for state in REPLICA_STATES)]  # fmt: skip
    if not runs:
        return []
    columns = " | ".join(f"{what}: change, µs ± 2 SE" for what in REPLICA_STATES.values())
    lines = [
        (
            "Read replica: reads routed to a second database (as a router would send them to a "
            "replica) against the same class with no router, measured side by side in the "
            "scale phase (rounds paired and change taken as in the scale table; ± two standard "
            "errors of the median change). The control is a second worker with no router."
        ),
        "",
        f"| contender | cost µs, no router | control | {columns} | SQL / req (hit, miss) |",
        "| --- | ---: | ---: | " + "--- | " * len(REPLICA_STATES) + "---: |",
    ]
    for r in runs:
        s, base = r["scale"], r["scale"]["base_cost_us"]
        cells = [_added(s[state]["change"], base) if state in s else "n/a"
                 for state in REPLICA_STATES]  # fmt: skip
        queries = ", ".join(f"{s[state]['queries']:g}" if state in s else "n/a"
                            for state in REPLICA_STATES)  # fmt: skip
        lines.append(f"| {_label(labels, r['contender'])} | {base:.0f} "
                     f"| {_iqr(s['control']['change'], percent=True)} | "
                     + " | ".join(cells) + f" | {queries} |")  # fmt: skip
    return lines + [""]


def http_swaps(runs: list[dict]) -> list[dict] | None:
    """Pairs whose order by HTTP requests/s is not their order by in-process µs.

    A swap is within the noise when the two contenders' per-round in-process ratio is
    within two standard errors of 1, or when their wrk runs overlap."""
    runs = [r for r in runs if r.get("http")]
    if len(runs) < 2:
        return None
    swaps = []
    for a, b in combinations(runs, 2):
        if a["inprocess"]["median_us"] > b["inprocess"]["median_us"]:
            a, b = b, a  # a: the faster in process
        if a["http"]["requests_per_s"] >= b["http"]["requests_per_s"]:
            continue
        per_round = distribution([x / y for x, y in zip(a["inprocess"]["rounds_us"],
                                                         b["inprocess"]["rounds_us"])])  # fmt: skip
        rps_a = [run["requests_per_s"] for run in a["http"]["runs"]]
        rps_b = [run["requests_per_s"] for run in b["http"]["runs"]]
        close = per_round["median"] >= 1 - 2 * median_error(per_round)
        swaps.append({"faster": a, "slower": b, "inprocess_noise": close,
                      "http_noise": max(rps_a) >= min(rps_b)})  # fmt: skip
    return swaps


def _swap_text(swap: dict, labels: dict[str, str]) -> str:
    a, b = swap["faster"], swap["slower"]
    why = [w for w, noisy in (("in process", swap["inprocess_noise"]),
                              ("over HTTP", swap["http_noise"])) if noisy]  # fmt: skip
    return (f"{_label(labels, a['contender'])} ({a['inprocess']['median_us']:.0f} µs, "
            f"{a['http']['requests_per_s']} req/s) and {_label(labels, b['contender'])} "
            f"({b['inprocess']['median_us']:.0f} µs, {b['http']['requests_per_s']} req/s): "
            + (f"within the noise {' and '.join(why)}" if why else "beyond the noise"))  # fmt: skip


def targets(runs: list[dict], db: str, cache: str, labels: dict[str, str]) -> list[dict]:
    """The contract's targets on one pairing of one pass: id, bar, measured, ok, verdict."""
    out: list[dict] = []

    def add(target: str, bar: str, value: str, ok: bool, verdict: str = "") -> None:
        verdict = verdict or ("met" if ok else "**missed**")
        out.append({"id": f"{db}+{cache}: {target}", "target": target, "bar": bar,
                    "value": value, "ok": ok, "verdict": verdict})  # fmt: skip

    for contender, wanted in QUERY_TARGETS.items():
        if r := _find(runs, contender, db, cache):
            n = r["queries"]["per_request"]
            add(f"{_label(labels, contender)}: SQL queries per request", f"= {wanted}",
                f"{n:g}", n == wanted)  # fmt: skip
    for contender, ref, bar, strict, where in COST_TARGETS:
        r = _find(runs, contender, db, cache)
        d = r and r["inprocess"].get(f"cost_vs_{ref}")
        if (db, cache) not in where or not d:
            continue
        m = d["median"]
        ok = m < bar if strict else m <= bar
        verdict = (f"met, by {bar - m:.2f}" if ok
                   else f"**missed** by {m - bar:.2f} ({m / bar - 1:+.0%})")  # fmt: skip
        if abs(m - bar) <= 2 * median_error(d):
            verdict += f"; within 2 SE ({2 * median_error(d):.2f}) of the bar: not settled"
        elif (
            "of_medians" in d
            and (d["of_medians"] < bar if strict else d["of_medians"] <= bar) != ok
        ):
            verdict += "; the ratio of the medians is on the other side: not settled"
        value = _iqr(d) + (f"; of medians {d['of_medians']:.2f}" if "of_medians" in d else "")
        add(f"{_label(labels, contender)}: cost ÷ {_label(labels, ref)}'s",
            f"{'<' if strict else '≤'} {bar:.2f}", value, ok, verdict)  # fmt: skip
    for contender in FLAT_TARGETS:
        r = _find(runs, contender, db, cache)
        s = (r or {}).get("scale")
        for state, what in SCALE_STATES.items():
            if not s or state not in s:
                continue
            change, control = s[state]["change"], s["control"]["change"]
            if not change:
                continue
            noise = abs(control["median"]) + 2 * median_error(change)
            bound, m = max(FLAT, noise), change["median"]
            ok = abs(m) <= bound
            verdict = "met" if ok else f"**missed** by {abs(m) - bound:.1%}"
            add(f"{_label(labels, contender)}: flat, {what}",
                f"within ±{bound:.1%} (control {control['median']:+.1%}, 2 SE "
                f"{2 * median_error(change):.1%}; at least ±{FLAT:.0%})",
                _iqr(change, percent=True), ok, verdict)  # fmt: skip
    swaps = http_swaps([r for r in runs if (r["db"], r["cache"]) == (db, cache)])
    if swaps is not None:
        beyond = [s for s in swaps if not (s["inprocess_noise"] or s["http_noise"])]
        value = (f"{len(swaps)} pairs swap, {len(beyond)} beyond the noise" if swaps
                 else "the same order")  # fmt: skip
        add("HTTP req/s order = in-process µs order", "no swap beyond the noise", value,
            not beyond)  # fmt: skip
    return out


def targets_table(result: dict, labels: dict[str, str], db: str, cache: str) -> list[str]:
    first = targets(result["runs"], db, cache, labels)
    if not first:
        return []
    second = {t["id"]: t for t in targets(result.get("noise_runs") or [], db, cache, labels)}
    lines = [
        "| target | bar | measured: median (IQR) | verdict | 2nd pass |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in first:
        again = second.get(t["id"])
        other = f"{again['value']}, {'met' if again['ok'] else 'missed'}" if again else "n/a"
        lines.append(f"| {t['target']} | {t['bar']} | {t['value']} | {t['verdict']} | {other} |")
    swaps = http_swaps([r for r in result["runs"] if (r["db"], r["cache"]) == (db, cache)])
    lines += [""] + [f"- Swapped over HTTP: {_swap_text(s, labels)}." for s in swaps or []]
    return lines + ([""] if swaps else [])


def variants_table(result: dict, labels: dict[str, str]) -> list[str]:
    """durin on PostgreSQL with psycopg options, beside its default and DRF authtoken."""
    rows = [r for r in result["runs"] if (pg := r.get("postgres"))
            and (r["contender"] == "durin" or pg["pool"] or pg["server_side_binding"])]  # fmt: skip
    if len(rows) < 2:
        return []
    lines = [
        "#### durin on PostgreSQL: psycopg options",
        "",
        "| pairing | contender | CONN_MAX_AGE | server-side binding | prepare_threshold "
        "| lookup prepared | pool (size) | cost µs | cost ÷ durin default's "
        "| cost ÷ DRF authtoken's | HTTP req/s |",
        "| --- | --- | ---: | --- | ---: | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        pg, p = r["postgres"], r["inprocess"]
        times = _times(result["runs"], r["db"], r["cache"])
        vs_default = costs(times, r["contender"], ("durin",)).get("cost_vs_durin")
        pool = f"yes ({pg['pool']['pool_size']})" if pg["pool"] else "no"
        lines.append(
            f"| {NAMES[r['db']]} + {NAMES[r['cache']]} | {_label(labels, r['contender'])} "
            f"| {pg['conn_max_age']} | {'yes' if pg['server_side_binding'] else 'no'} "
            f"| {pg['prepare_threshold']} | {'yes' if pg['lookup_prepared'] else 'no'} "
            f"| {pool} | {p.get('cost_us', 0):.0f} "
            f"| {'1' if r['contender'] == 'durin' else _iqr(vs_default)} "
            f"| {_iqr(p.get('cost_vs_drf_token'))} "
            f"| {r['http']['requests_per_s'] if r.get('http') else 'n/a'} |"
        )
    return lines + [""]


def _http_cost(run: dict, floor: dict | None, field: str = "http") -> str:
    """µs per request over HTTP above the floor's (1 / req/s, one connection): the median,
    and the range of the wrk runs paired in order (the runs were interleaved)."""
    mine, base = run.get(field), (floor or {}).get(field)
    if not mine or not base:
        return "n/a"
    per_run = sorted(1e6 / a["requests_per_s"] - 1e6 / b["requests_per_s"]
                     for a, b in zip(mine["runs"], base["runs"]))  # fmt: skip
    median = 1e6 / mine["requests_per_s"] - 1e6 / base["requests_per_s"]
    return f"{median:.0f} ({per_run[0]:.0f} to {per_run[-1]:.0f})"


def _cost_cell(p: dict) -> str:
    """A ninja row's cost over its floor: median (IQR), ± two standard errors of the median."""
    d = p.get("cost")
    if not d:
        return "n/a"
    return (f"{d['median']:.0f} ({d['q1']:.0f} to {d['q3']:.0f}), "
            f"± {2 * median_error(d):.0f}")  # fmt: skip


def _versus(d: dict | None, costs: list[dict]) -> str:
    """A cost ratio, and whether it is below, above or within two standard errors of 1.

    Not settled when the ratio of the median costs is on the other side of 1, or when one of
    the two costs is at or below zero in a quarter of the rounds or more (``costs``: their
    distributions): a ratio to a cost the rounds cannot tell from zero says nothing."""
    if not d:
        return "n/a"
    error = 2 * median_error(d)
    reading = ("within 2 SE of 1" if abs(d["median"] - 1) <= error
               else "lower" if d["median"] < 1 else "higher")  # fmt: skip
    if (
        reading != "within 2 SE of 1"
        and "of_medians" in d
        and (d["of_medians"] < 1) != (d["median"] < 1)
    ):
        reading = "not settled (the ratio of the medians is on the other side of 1)"
    if any(c["q1"] <= 0 for c in costs):
        reading = "not settled (a cost the rounds cannot tell from zero)"
    medians = f"; of medians {d['of_medians']:.2f}" if "of_medians" in d else ""
    return f"{_iqr(d)}{medians}: {reading}"


def ninja_tables(result: dict, labels: dict[str, str]) -> list[str]:
    """The django-ninja part: in process, the costs compared, and over HTTP, per pairing."""
    runs, noise = result.get("ninja_runs") or [], result.get("ninja_noise_runs") or []
    if not runs:
        return []
    s = result["settings"]
    lines = [
        "### django-ninja: sync and async operations, WSGI and ASGI",
        "",
        (
            "`GET /ninja/me/` as a sync operation called through the WSGI application "
            "(gunicorn over HTTP) and through Django's ASGI handler (uvicorn), and as an async "
            "operation through the ASGI handler, each behind durin's "
            "`TokenAuth(CachedTokenAuthentication)` (a cache hit) and without authentication, "
            "its own floor; DRF's `/me/` with `CachedTokenAuthentication` and DRF's floor "
            "alongside. In process: the WSGI application called directly, or an event loop "
            "driving the ASGI handler with an HTTP scope, one task per request, as uvicorn "
            f"does; {s['rounds']} rounds × {s['per_round']} requests, all side by side. "
            "× floor: over the row's own floor (a floor's: over DRF's floor). Cost: µs over "
            "the row's own floor in the same round, median (IQR) of the rounds and ± two "
            "standard errors of the median. Hops / threads / caches / Redis connects: per request, "
            "the event loop's `run_in_executor` calls (thread hops), threads started, cache "
            "objects Django built, and connections opened to Redis. HTTP: `wrk -t1 -c1` as "
            "above; uvicorn keeps the connection alive, "
            "gunicorn's sync worker closes it, so the ASGI rows are also measured with "
            "`Connection: close`; HTTP cost: 1 / req/s above the floor's, in µs (the range of "
            "the paired runs)."
        ),
        "",
    ]
    for db, cache in dict.fromkeys((r["db"], r["cache"]) for r in runs):
        here = [r for r in runs if (r["db"], r["cache"]) == (db, cache)]
        floors = {r["contender"]: _find(here, NINJA_FLOORS[r["contender"]], db, cache)
                  if r["contender"] in NINJA_FLOORS else None for r in here}  # fmt: skip
        lines += [
            f"#### django-ninja: {NAMES[db]}, {NAMES[cache]} cache",
            "",
            "| contender | SQL / req | hops / threads / caches / Redis connects | µs / req "
            "| × floor | cost µs: median (IQR), ± 2 SE | 2nd pass: cost µs | "
            + " | ".join(f"cost ÷ {NINJA_REF_LABELS[ref]}'s" for ref in NINJA_REFERENCES)
            + " |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |" + " ---: |" * len(NINJA_REFERENCES),
        ]
        for r in here:
            p, q, d = r["inprocess"], r["queries"], r.get("diag", {})
            other = _find(noise, *_key(r))
            second = _cost_cell(other["inprocess"]) if other else "n/a"
            connects = d.get("redis_connections", 0) + d.get("async_redis_connections", 0)
            diag = (f"{d['thread_hops']:g} / {d['threads_started']:g} / {d['caches_built']:g} "
                    f"/ {connects:g}" if d else "n/a")  # fmt: skip
            most = f" (max {q['max']})" if q["max"] != q["per_request"] else ""
            queries = f"{q['per_request']:g}{most}"
            ratios = ["1" if ref == r["contender"] else _iqr(p.get(f"cost_vs_{ref}"))
                      if "cost" in p else "n/a" for ref in NINJA_REFERENCES]  # fmt: skip
            lines.append(
                f"| {_label(labels, r['contender'])} | {queries} | {diag} "
                f"| {p['median_us']:.0f} | {_ratio(p, 'x_floor')} | {_cost_cell(p)} "
                f"| {second} | " + " | ".join(ratios) + " |"
            )
        lines += ["", "| comparison (cost ÷ cost, round by round) | median (IQR); reading |",
                  "| --- | --- |"]  # fmt: skip
        for name, ref in (("ninja_async_cached", "ninja_cached"),
                          ("ninja_async_cached", "ninja_asgi_cached"),
                          ("ninja_async_cached", "durin_cached"),
                          ("ninja_cached", "durin_cached"),
                          ("ninja_asgi_cached", "ninja_cached")):  # fmt: skip
            r, other = _find(here, name, db, cache), _find(here, ref, db, cache)
            if r and other and f"cost_vs_{ref}" in r["inprocess"]:
                both = [r["inprocess"]["cost"], other["inprocess"]["cost"]]
                lines.append(f"| {_label(labels, name)} ÷ {_label(labels, ref)} "
                             f"| {_versus(r['inprocess'][f'cost_vs_{ref}'], both)} |")  # fmt: skip
        if any(r.get("http") for r in here):
            lines += [
                "",
                (
                    "| contender | server | HTTP req/s | p50 ms | p99 ms | HTTP cost µs (runs) "
                    "| `Connection: close`: req/s, p99 ms, cost µs (runs) |"
                ),
                "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
            ]
            for r in here:
                h, c = r.get("http"), r.get("http_close")
                if not h:
                    continue
                close = (f"{c['requests_per_s']}, {c['p99_ms']:.2f}, "
                         f"{_http_cost(r, floors[r['contender']], 'http_close')}"
                         if c else "as the server does")  # fmt: skip
                server = r.get("server", "gunicorn").split(",")[0]
                lines.append(
                    f"| {_label(labels, r['contender'])} | {server} | {h['requests_per_s']} "
                    f"| {h['p50_ms']:.2f} | {h['p99_ms']:.2f} "
                    f"| {_http_cost(r, floors[r['contender']])} | {close} |"
                )
        lines.append("")
    servers = dict.fromkeys(r["server"] for r in runs if r.get("server"))
    lines += [f"Servers: {'; '.join(servers)}.", ""]
    return lines


def markdown(result: dict, labels: dict[str, str]) -> str:
    derive(result)
    m, s = result["machine"], result["settings"]
    partial = f" Run with `{' '.join(s['arguments'])}`." if s.get("arguments") else ""
    lines = [
        f"### Results: {result['date']} (commit {result['commit']})",
        "",
        (
            f"{m['cpu']}, {m['cores']} cores, shared with other work (1-minute load average "
            f"{m['load_average_before'][0]:.1f} at the start, {m['load_average'][0]:.1f} at the "
            f"end); Python {m['python']}; PostgreSQL {m['postgresql']}; Redis {m['redis']}; "
            f"{', '.join(m['packages'])}. The whole run took {result['duration_s'] // 60} min "
            f"{result['duration_s'] % 60} s.{partial}"
        ),
        "",
    ]
    about = (
        f"µs / req: in process, median of {s['rounds']} rounds × {s['per_round']} warm "
        "requests (a direct WSGI call through Django's handler, middleware and DRF, as "
        "gunicorn makes it); the contenders of a table run side by side and take turns round "
        "by round. Cost: µs over the floor in the same round. × floor and the cost ratios "
        "(cost ÷ a reference's cost) are medians of the round-by-round ratios, with their "
        "interquartile range. 2nd pass: the same with fresh processes and databases. HTTP: "
        f"gunicorn with 1 sync worker, `wrk -t1 -c1 -d{s['wrk_seconds']}s` on loopback, "
        f"median of {s['wrk_reps']} runs after a 1 s warm-up."
    )
    lines += [about, ""] if result["runs"] else []  # the ninja part has its own
    for db, cache in dict.fromkeys((r["db"], r["cache"]) for r in result["runs"]):
        lines += [f"#### {NAMES[db]}, {NAMES[cache]} cache", ""]
        lines += main_table(result, labels, db, cache)
        lines += cost_table(result, labels, db, cache)
        lines += scale_table(result, labels, db, cache)
        lines += replica_table(result, labels, db, cache)
        lines += [f"Targets ({NAMES[db]}, {NAMES[cache]}):", ""]
        lines += targets_table(result, labels, db, cache)
    lines += variants_table(result, labels)
    lines += ninja_tables(result, labels)
    floors = ", ".join(
        f"{NAMES[f['cache']]} {f['median_us']:.1f} µs" for f in result["cache_floor"]
    )
    lines += [
        f"One bare `cache.get()` of a 16-character value through Django's cache API: {floors}.",
        "",
    ]
    noise = result.get("noise_runs") or []
    pairs = [(r, _find(noise, *_key(r))) for r in result["runs"] if r["contender"] != "floor"]
    ratio = sorted(x for r, o in pairs if (x := pass_spread(r, o)) is not None)
    micro = sorted(x for r, o in pairs if (x := pass_spread(r, o, "median_us")) is not None)
    if ratio:
        lines += [
            (
                "Noise between the two passes: the ratio to the floor moved by "
                f"{statistics.median(ratio) * 100:.1f}% (median over {len(ratio)} rows; "
                f"{ratio[-1] * 100:.1f}% at most), the raw µs by "
                f"{statistics.median(micro) * 100:.1f}% ({micro[-1] * 100:.1f}% at most)."
            ),
            "",
        ]
    p = result.get("purge")
    if p:
        lines += [
            (
                f"Purge: `manage.py purge_expired_tokens` deleted {p['rows']:,} expired durin "
                f"tokens from PostgreSQL in {p['seconds']} s, peak RSS {p['peak_rss_mb']} MB "
                f"(`manage.py check` in the same venv: {p['baseline_rss_mb']} MB); rows left: "
                f"{p['rows_left']}."
            ),
            "",
        ]
    bare = next((f for f in result["cache_floor"] if f["cache"] == "redis"), None)
    cached = _find(result["runs"], "durin_cached", "postgres", "redis")
    if bare and cached and "cost_us" in cached["inprocess"]:
        above = cached["inprocess"]["cost_us"]
        lines += [
            (
                f"durin's cached class on Redis costs {above:.0f} µs above the floor; a bare Redis "
                f"GET costs {bare['median_us']:.0f} µs, so the class spends "
                f"{above - bare['median_us']:.0f} µs beyond its one round trip "
                f"({above / bare['median_us']:.2f}× a bare GET)."
            ),
            "",
        ]
    return "\n".join(lines)


def compare(first: dict, second: dict, labels: dict[str, str]) -> str:
    """How far two whole runs agree: ratios, raw µs, HTTP, scale and each target's verdict."""
    derive(first)
    derive(second)

    def moved(get) -> list[float]:
        out = []
        for r in second["runs"]:
            other = _find(first["runs"], *_key(r))
            if other and r["contender"] != "floor" and get(other) and get(r):
                out.append(abs(get(r) / get(other) - 1))
        return sorted(out)

    def line(what: str, values: list[float]) -> str:
        if not values:
            return f"- {what}: n/a"
        return (f"- {what}: {statistics.median(values) * 100:.1f}% (median over {len(values)} "
                f"rows), {values[-1] * 100:.1f}% at most")  # fmt: skip

    def cost_vs_drf(r: dict) -> float | None:
        return (r["inprocess"].get("cost_vs_drf_token") or {}).get("median")

    lines = [f"### Two whole runs: {first['date']} and {second['date']}", ""]
    lines.append(line("ratio to the floor", moved(lambda r: r["inprocess"]["x_floor"])))
    lines.append(line("raw µs per request", moved(lambda r: r["inprocess"]["median_us"])))
    lines.append(line("cost ÷ DRF authtoken's", moved(cost_vs_drf)))
    lines.append(
        line("HTTP requests/s", moved(lambda r: (r.get("http") or {}).get("requests_per_s")))
    )
    for state in {**SCALE_STATES, **REPLICA_STATES}:
        diffs = []
        for r in second["runs"]:
            other = _find(first["runs"], *_key(r))
            a, b = (other or {}).get("scale", {}).get(state), r.get("scale", {}).get(state)
            if a and b:
                diffs.append(abs(b["change"]["median"] - a["change"]["median"]))
        if diffs:
            lines.append(
                f"- change with {SCALE_STATES.get(state) or REPLICA_STATES[state]}: moved by "
                f"{statistics.median(diffs):.1%} (median), {max(diffs):.1%} at most"
            )
    pairings = dict.fromkeys((r["db"], r["cache"]) for r in first["runs"] + second["runs"])
    before = {
        t["id"]: t for db, cache in pairings for t in targets(first["runs"], db, cache, labels)
    }
    for db, cache in pairings:
        for t in targets(second["runs"], db, cache, labels):
            old = before.get(t["id"])
            if old and old["ok"] != t["ok"]:
                lines.append(f"- verdict changed ({'met' if old['ok'] else 'missed'} in the first "
                             f"run, {old['value']}): {t['id']}, now {t['value']}")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import CONTENDERS

    names = {c: label for c, (_, label) in CONTENDERS.items()}
    runs = [json.loads(Path(arg).read_text()) for arg in sys.argv[1:]]
    print(compare(*runs, names) if len(runs) == 2 else markdown(runs[0], names))
