"""Slice discovery against the ``sliceline`` package (the SliceLine reference) on the same data.

The data: 20 categorical columns of 2-10 levels (seeded), 0/1 model errors at a 10% base
rate, and one planted slice (three columns' levels, 80% errors) that must rank first. Both
tools search the same one-hot predicates (one per column level, at most one per column
in a slice) with the same alpha, k, max level and minimum support. Every case runs in
its own subprocess (peak memory from ``resource.getrusage``); sliceline's run under a
memory cap (RLIMIT_AS) and a timeout, and only where it fits: it needs 18 GiB at 10,000
rows and level 3, and fails for memory at 100,000 rows level 3 and 1,000,000 rows level 2
(``--sliceline-level3`` adds the 10,000-row level-3 case, if the machine has the memory).

    .venv/bin/python benchmarks/bench_discovery.py            # ~2 minutes
    .venv/bin/python benchmarks/bench_discovery.py --quick    # the 10,000-row cases only

Prints a table and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

N_COLUMNS = 20
PLANTED = {0: 1, 1: 2, 2: 0}  # column -> level of the planted slice
ALPHA, K = 0.95, 10
SLICELINE_MEMORY_GIB = 8
SLICELINE_TIMEOUT_S = 120


def make_data(n_rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes rows x 20, levels per column, 0/1 errors) with the planted slice."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(2, 11, N_COLUMNS)
    levels[:3] = (2, 3, 2)  # a planted slice of n/12 rows: large enough to be SliceLine's best
    codes = np.column_stack([rng.integers(0, lv, n_rows, dtype=np.int16) for lv in levels])
    planted = np.logical_and.reduce([codes[:, c] == v for c, v in PLANTED.items()])
    errors = np.where(planted, rng.random(n_rows) < 0.8, rng.random(n_rows) < 0.1).astype(np.int8)
    return codes, levels, errors


def min_support(n_rows: int) -> int:
    return max(10, n_rows // 1000)


def run_slicekit(n_rows: int, level: int) -> dict:
    from scipy import sparse

    from slicekit.slicing.discovery import find_slices

    codes, levels, errors = make_data(n_rows)
    start = time.perf_counter()
    offsets = np.r_[0, np.cumsum(levels)[:-1]]
    columns = (codes.astype(np.int64) + offsets).ravel()
    rows = np.repeat(np.arange(n_rows), N_COLUMNS)
    matrix = sparse.csc_matrix(
        (np.ones(len(columns), dtype=bool), (rows, columns)), shape=(n_rows, int(levels.sum()))
    )
    del columns, rows
    groups = np.repeat(np.arange(N_COLUMNS), levels)
    search = find_slices(
        matrix, errors, groups=groups, k=K, max_level=level, min_support=min_support(n_rows), alpha=ALPHA
    )
    seconds = time.perf_counter() - start
    column_of = groups
    value_of = np.arange(int(levels.sum())) - np.repeat(offsets, levels)
    top = [
        {"slice": sorted([int(column_of[j]), int(value_of[j])] for j in slc), "score": float(score), "n": int(n)}
        for slc, score, n in zip(search.slices, search.scores, search.sizes)
    ]
    return {"seconds": seconds, "top": top, "levels": search.levels}


def run_sliceline(n_rows: int, level: int) -> dict:
    import warnings

    from sliceline import Slicefinder

    codes, _, errors = make_data(n_rows)
    errors = errors.astype(np.float64)  # sliceline sums errors in their own dtype: int8 would wrap
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm_codes, _, warm_errors = make_data(500, seed=1)  # numba's JIT compiles outside the timing
        Slicefinder(alpha=ALPHA, k=K, max_l=level, min_sup=10, verbose=False).fit(warm_codes, warm_errors * 1.0)
        start = time.perf_counter()
        finder = Slicefinder(alpha=ALPHA, k=K, max_l=level, min_sup=min_support(n_rows), verbose=False)
        finder.fit(codes, errors)
    seconds = time.perf_counter() - start
    top = [
        {
            "slice": sorted([c, int(v)] for c, v in enumerate(row) if v is not None),
            "score": float(stat["slice_score"]),
            "n": int(stat["slice_size"]),
        }
        for row, stat in zip(finder.top_slices_, finder.top_slices_statistics_)
    ]
    return {"seconds": seconds, "top": top}


def worker(tool: str, n_rows: int, level: int) -> None:
    result = (run_slicekit if tool == "slicekit" else run_sliceline)(n_rows, level)
    result["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print("RESULT " + json.dumps(result))


def run_case(tool: str, n_rows: int, level: int) -> dict:
    """One case in a subprocess; sliceline's under a memory cap and a timeout."""

    def cap() -> None:
        limit = SLICELINE_MEMORY_GIB * 2**30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", tool, str(n_rows), str(level)],
            capture_output=True, text=True, env=env,
            preexec_fn=cap if tool == "sliceline" else None,
            timeout=SLICELINE_TIMEOUT_S if tool == "sliceline" else None,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {SLICELINE_TIMEOUT_S} s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    if "MemoryError" in done.stderr or "Unable to allocate" in done.stderr:
        tail = f"out of memory under a {SLICELINE_MEMORY_GIB} GiB cap ({tail[:120]})"
    return {"error": tail}


def compare(ours: list[dict], theirs: list[dict]) -> str:
    """'same' when both return the same slices with the same scores (order within ties
    free), else the first difference."""
    key = lambda t: (round(-t["score"], 9), json.dumps(t["slice"]))  # noqa: E731
    a, b = sorted(ours, key=key), sorted(theirs, key=key)
    if [(t["slice"], round(t["score"], 9)) for t in a] == [(t["slice"], round(t["score"], 9)) for t in b]:
        return "same"
    ours_set = {json.dumps(t["slice"]) for t in a}
    theirs_set = {json.dumps(t["slice"]) for t in b}
    if len(a) != len(b) and (ours_set >= theirs_set or theirs_set >= ours_set):
        return f"same slices where both rank them; slicekit {len(a)}, sliceline {len(b)} (ties at the k-th score)"
    return f"differ: only slicekit {sorted(ours_set - theirs_set)[:2]}, only sliceline {sorted(theirs_set - ours_set)[:2]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 10,000-row cases")
    parser.add_argument("--sliceline-level3", action="store_true", help="also sliceline at 10,000 rows, level 3")
    args = parser.parse_args()
    cases = [(10_000, 2, True), (10_000, 3, args.sliceline_level3), (100_000, 2, True), (100_000, 3, False),
             (1_000_000, 2, False), (1_000_000, 3, False)]
    if args.quick:
        cases = [c for c in cases if c[0] == 10_000]
    planted = sorted([c, v] for c, v in PLANTED.items())
    results = []
    print(f"{'rows':>9} {'level':>5} | {'slicekit s':>10} {'GiB':>5} {'planted 1st':>11} | "
          f"{'sliceline s':>11} {'GiB':>5} | {'speedup':>7} | top-10")
    for n_rows, level, with_sliceline in cases:
        ours = run_case("slicekit", n_rows, level)
        if "error" in ours:
            raise SystemExit(f"slicekit failed at {n_rows} rows, level {level}: {ours['error']}")
        theirs = run_case("sliceline", n_rows, level) if with_sliceline else {"error": "not run (does not fit)"}
        # the planted slice has three predicates: only a level-3 search can find it
        first = (bool(ours["top"]) and ours["top"][0]["slice"] == planted) if level >= 3 else None
        row = {
            "rows": n_rows, "level": level,
            "slicekit_s": round(ours["seconds"], 3), "slicekit_peak_gib": round(ours["peak_gib"], 3),
            "planted_first": first,
        }
        if "error" in theirs:
            row["sliceline"] = theirs["error"]
            verdict, speed = "-", "-"
        else:
            row.update(sliceline_s=round(theirs["seconds"], 3), sliceline_peak_gib=round(theirs["peak_gib"], 3))
            row["speedup"] = round(theirs["seconds"] / ours["seconds"], 1)
            row["top10"] = verdict = compare(ours["top"], theirs["top"])
            speed = f"{row['speedup']:.1f}x"
        results.append(row)
        their_s = f"{theirs['seconds']:.2f}" if "seconds" in theirs else "-"
        their_gib = f"{theirs['peak_gib']:.2f}" if "peak_gib" in theirs else "-"
        print(f"{n_rows:>9} {level:>5} | {ours['seconds']:>10.2f} {ours['peak_gib']:>5.2f} {'n/a' if first is None else str(first):>11} | "
              f"{their_s:>11} {their_gib:>5} | {speed:>7} | {verdict}")
        if "error" in theirs:
            print(f"{'':>17}sliceline: {theirs['error']}")
    print(json.dumps({"benchmark": "slice_discovery", "alpha": ALPHA, "k": K, "cases": results}))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
