"""Benchmark: applying the tutorial's slicing functions at scale, against Snorkel's PandasSFApplier.

    .venv/bin/python benchmarks/bench_apply.py [--rows 100000 1000000] [--skip-snorkel]

Rows are comments drawn (with replacement, fixed seed) from the YouTube Spam
Collection, each with a unique suffix `` [i]`` so that no two rows are equal.
Two SF sets: ``fast4`` (short_comment, keyword_please, regex_check_out,
short_link) and ``all5`` (those plus textblob_polarity).

Engines: ``snorkel`` (snorkel 0.10.0's PandasSFApplier, the tutorial's functions
wrapped in Snorkel's own classes; on a subsample, see ``--snorkel-rows``),
``rowwise`` (ours, every SF called per row, serial), ``serial`` (ours,
vectorized implementations), ``n_jobs2`` (ours, 2 worker processes), ``dask``
(DaskSFApplier on a 2-worker LocalCluster; input read from Parquet by the
workers, result gathered into the recarray).

Every configuration runs in its own process, which reports its wall time and
memory sampled every 50 ms with psutil: the peak of the summed RSS of its whole
process tree (workers, nannies, fork server included; an over-estimate where
pages are shared), its own peak, and for Dask each worker's peak (a spawned
child's ``ru_maxrss`` starts from its parent's on Linux, so ``resource`` cannot
tell; the process's own ``ru_maxrss`` is in the JSON too). For Dask the comments
are written to Parquet by another process and read by the workers: the client
never holds them. Pool and
cluster start-up (plus a 2,000-row warm-up, which imports the SFs in the
workers) are timed separately (``startup_s``; for the in-process engines, a
500-row warm-up that loads TextBlob's lexicon and our code-point tables);
``rows_per_s`` is the apply call that follows, on different rows. Slice matrices are saved and compared by the parent:
ours against Snorkel's on the rows both computed, and all engines of ours
against each other. A last process times the polarity alone on the same unique
rows, TextBlob per row (``TextBlob(text).sentiment.polarity``, as the tutorial's
preprocessor) against our column kernel (``slicekit.slicing.sentiment.textblob_polarities``),
in alternating rounds (best of each): a ratio that load from other processes
affects far less than rows/s, with the two results compared bit for bit. The
last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "youtube_spam"
SETS = {
    "fast4": ["short_comment", "keyword_please", "regex_check_out", "short_link"],
    "all5": ["short_comment", "keyword_please", "regex_check_out", "short_link", "textblob_polarity"],
}
WARMUP_ROWS = 2_000


# --------------------------------------------------------------------------------------
# Inside one configuration's process
# --------------------------------------------------------------------------------------


def make_comments(data_dir: str, n: int, seed: int = 2026):
    import pandas as pd

    from slicekit.youtube_spam import load_tutorial_split

    texts = pd.concat(load_tutorial_split(data_dir)).text.tolist()
    picks = np.random.default_rng(seed).integers(0, len(texts), n)
    return pd.DataFrame({"text": [f"{texts[j]} [{i}]" for i, j in enumerate(picks)]})


class TreeMemory:
    """Peak summed RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self.peak = 0
        self.per_process: dict[int, int] = {}  # pid -> peak RSS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for proc in [self._process, *self._process.children(recursive=True)]:
            try:
                rss = proc.memory_info().rss
            except Exception:  # noqa: BLE001 - a process may exit between listing and reading
                continue
            self.per_process[proc.pid] = max(self.per_process.get(proc.pid, 0), rss)
            total += rss
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the live processes of the tree."""
        total = 0.0
        for proc in [self._process, *self._process.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except Exception:  # noqa: BLE001
                continue
            total += times.user + times.system
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._interval)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def snorkel_sfs(names):
    from snorkel.preprocess import preprocessor as snorkel_preprocessor
    from snorkel.slicing import SlicingFunction as SnorkelSF
    from snorkel.slicing import slicing_function as snorkel_slicing_function

    from slicekit import slice_functions as ours

    sentiment = snorkel_preprocessor(memoize=True)(ours.textblob_sentiment._f)
    build = {
        "short_comment": lambda: snorkel_slicing_function()(ours.short_comment._f),
        "keyword_please": lambda: SnorkelSF(
            name="keyword_please", f=ours.keyword_lookup, resources=dict(keywords=["please", "plz"])
        ),
        "regex_check_out": lambda: snorkel_slicing_function()(ours.regex_check_out._f),
        "short_link": lambda: snorkel_slicing_function()(ours.short_link._f),
        "textblob_polarity": lambda: snorkel_slicing_function(pre=[sentiment])(ours.textblob_polarity._f),
    }
    return [build[name]() for name in names]


def run_config(config: dict) -> dict:
    import pandas as pd

    from slicekit.slice_functions import get_slicing_functions

    engine, names, rows = config["engine"], SETS[config["set"]], config["rows"]
    if engine == "dask":
        # The client never holds the comments: another process writes them to Parquet,
        # the workers read them.
        parquet = str(Path(config["out"]).with_suffix(".input.parquet"))
        subprocess.run(
            [sys.executable, __file__, "--make-parquet", json.dumps(dict(config, path=parquet))], check=True
        )
        frame = make_comments(config["data_dir"], WARMUP_ROWS)
    else:
        frame = make_comments(config["data_dir"], rows)
    # Warm-up rows differ from the measured ones (no memoization carries over).
    warm = frame.iloc[:WARMUP_ROWS].assign(text=lambda d: d.text + " warm-up")
    result: dict = {"engine": engine, "set": config["set"], "rows": rows, "startup_s": 0.0}
    with TreeMemory() as memory:
        if engine == "snorkel":
            from snorkel.slicing import PandasSFApplier as SnorkelApplier

            applier = SnorkelApplier(snorkel_sfs(names))
            start = time.perf_counter()
            applier.apply(warm.iloc[:500], progress_bar=False)  # lazy loads (TextBlob's lexicon)
            result["startup_s"] = time.perf_counter() - start
            cpu, start = memory.cpu_seconds(), time.perf_counter()
            S = applier.apply(frame, progress_bar=False)
            seconds, cpu = time.perf_counter() - start, memory.cpu_seconds() - cpu
        elif engine in ("serial", "rowwise"):
            from slicekit.slicing import PandasSFApplier

            applier = PandasSFApplier(get_slicing_functions(names), use_vectorized=engine == "serial")
            start = time.perf_counter()
            applier.apply(warm.iloc[:500], progress_bar=False)  # lazy loads (lexicon, code-point tables)
            result["startup_s"] = time.perf_counter() - start
            cpu, start = memory.cpu_seconds(), time.perf_counter()
            S = applier.apply(frame, progress_bar=False)
            seconds, cpu = time.perf_counter() - start, memory.cpu_seconds() - cpu
        elif engine == "n_jobs2":
            from slicekit.slicing import PandasSFApplier

            start = time.perf_counter()
            with PandasSFApplier(get_slicing_functions(names), n_jobs=2) as applier:
                applier.apply(warm, progress_bar=False)
                result["startup_s"] = time.perf_counter() - start
                cpu, start = memory.cpu_seconds(), time.perf_counter()
                S = applier.apply(frame, progress_bar=False)
                seconds, cpu = time.perf_counter() - start, memory.cpu_seconds() - cpu
        elif engine == "dask":
            import dask.dataframe as dd

            from slicekit.slicing.apply.dask import DaskSFApplier

            start = time.perf_counter()
            with DaskSFApplier(get_slicing_functions(names)) as applier:
                applier.apply(warm, progress_bar=False)
                result["startup_s"] = time.perf_counter() - start
                data = dd.read_parquet(parquet, split_row_groups=True)
                cpu, start = memory.cpu_seconds(), time.perf_counter()
                S = applier.apply(data, progress_bar=False)
                seconds, cpu = time.perf_counter() - start, memory.cpu_seconds() - cpu
                worker_pids = set(applier.client.run(os.getpid).values())
        else:
            raise ValueError(engine)
    result["seconds"] = seconds
    # CPU seconds over wall seconds: how many cores the apply actually got (2 at most here;
    # less when other processes compete for the CPUs).
    result["cores_used"] = cpu / seconds
    result["rows_per_s"] = rows / seconds
    result["peak_tree_rss_mb"] = round(memory.peak / 2**20)
    result["maxrss_self_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    # Peak RSS per process, sampled: the resource module cannot tell for workers (a spawned
    # child's ru_maxrss starts from its parent's on Linux, and grandchildren are not ours).
    peaks = {pid: round(rss / 2**20) for pid, rss in memory.per_process.items()}
    result["peak_self_mb"] = peaks.pop(os.getpid(), 0)
    if engine == "dask":
        result["workers_peak_mb"] = sorted(peaks.pop(pid, 0) for pid in worker_pids)
    result["other_processes_peak_mb"] = sorted(peaks.values())
    matrix = np.column_stack([np.asarray(S[name], dtype=np.int8) for name in names])
    np.save(config["out"], matrix)
    result["members"] = matrix.sum(axis=0).tolist()
    return result


def polarity_ratio(config: dict) -> dict:
    """TextBlob per row against the column kernel, on the same unique rows, in one process."""
    from textblob import TextBlob

    from slicekit.slicing.polarity_kernel import _walk_compiled
    from slicekit.slicing.sentiment import textblob_polarities

    n = config["rows"]
    texts = make_comments(config["data_dir"], 3 * n).text.tolist()  # unique rows, one third per round
    warm = ["warm-up: not bad at all :)", "VERY good!!!"]
    textblob_polarities(warm)  # lexicon, compiled walk
    [TextBlob(t).sentiment.polarity for t in warm]
    best = {"textblob": float("inf"), "kernel": float("inf")}
    for round_ in range(3):  # other rows each round: no row's unique token is memoized
        batch = texts[round_ * n : (round_ + 1) * n]
        start = time.perf_counter()
        expected = [TextBlob(t).sentiment.polarity for t in batch]
        best["textblob"] = min(best["textblob"], time.perf_counter() - start)
        start = time.perf_counter()
        got = textblob_polarities(batch)
        best["kernel"] = min(best["kernel"], time.perf_counter() - start)
        if [float.hex(v) for v in got] != [float.hex(v) for v in expected]:
            raise SystemExit("polarity kernel differs from TextBlob")
    return {
        "rows": config["rows"],
        "textblob_rows_per_s": config["rows"] / best["textblob"],
        "kernel_rows_per_s": config["rows"] / best["kernel"],
        "kernel_x_textblob": best["textblob"] / best["kernel"],
        "bit_identical": True,
        "compiled_walk": _walk_compiled is not None,
    }


# --------------------------------------------------------------------------------------
# The parent: plan, run each configuration in a subprocess, compare, report
# --------------------------------------------------------------------------------------


def plan(args) -> list[dict]:
    configs = []
    for set_name in ("fast4", "all5"):
        if not args.skip_snorkel:
            n = args.snorkel_rows if set_name == "fast4" else args.snorkel_textblob_rows
            configs.append({"engine": "snorkel", "set": set_name, "rows": n})
        for rows in args.rows:
            if set_name == "all5" and rows > args.textblob_max_rows:
                continue
            engines = ["serial", "n_jobs2", "dask"]
            if rows <= args.rowwise_max_rows:
                engines.insert(0, "rowwise")
            configs += [{"engine": e, "set": set_name, "rows": rows} for e in engines]
    return configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--skip-snorkel", action="store_true")
    parser.add_argument("--snorkel-rows", type=int, default=20_000, help="Snorkel's subsample, four SFs")
    parser.add_argument("--snorkel-textblob-rows", type=int, default=5_000, help="Snorkel's subsample, five SFs")
    parser.add_argument("--textblob-max-rows", type=int, default=1_000_000,
                        help="run the five-SF set (TextBlob) only for --rows up to this")
    parser.add_argument("--rowwise-max-rows", type=int, default=100_000,
                        help="run our row-wise baseline only for --rows up to this")
    parser.add_argument("--data-dir", default=os.environ.get("SPAM_DATA_DIR", str(DEFAULT_DATA)))
    parser.add_argument("--run-config", help=argparse.SUPPRESS)
    parser.add_argument("--polarity-rows", type=int, default=20_000,
                        help="rows for TextBlob against the polarity kernel (0: skip)")
    parser.add_argument("--make-parquet", help=argparse.SUPPRESS)
    parser.add_argument("--polarity-config", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.make_parquet:
        config = json.loads(args.make_parquet)
        make_comments(config["data_dir"], config["rows"]).to_parquet(config["path"], row_group_size=100_000)
        return
    if args.run_config:
        print(json.dumps(run_config(json.loads(args.run_config))))
        return
    if args.polarity_config:
        print(json.dumps(polarity_ratio(json.loads(args.polarity_config))))
        return

    configs = plan(args)
    env = dict(os.environ, DO_NOT_TRACK="1", KEDRO_DISABLE_TELEMETRY="1", TQDM_DISABLE="1")
    results = []
    load_before = os.getloadavg()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for k, config in enumerate(configs):
            config = dict(config, data_dir=args.data_dir, out=str(Path(scratch) / f"S{k}.npy"))
            label = f"{config['set']:5s} {config['engine']:8s} {config['rows']:>9,} rows"
            print(f"[{time.perf_counter() - began:6.0f}s] running {label} ...", flush=True)
            done = subprocess.run(
                [sys.executable, __file__, "--run-config", json.dumps(config)],
                capture_output=True, text=True, env=env, cwd=ROOT,
            )
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-5000:], file=sys.stderr)
                raise SystemExit(f"configuration {label} failed")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["matrix"] = np.load(config["out"])
            results.append(result)
    polarity = None
    if args.polarity_rows:
        print(f"[{time.perf_counter() - began:6.0f}s] running polarity kernel vs TextBlob, "
              f"{args.polarity_rows:,} rows ...", flush=True)
        config = {"data_dir": args.data_dir, "rows": args.polarity_rows}
        done = subprocess.run([sys.executable, __file__, "--polarity-config", json.dumps(config)],
                              capture_output=True, text=True, env=env, cwd=ROOT)
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-5000:], file=sys.stderr)
            raise SystemExit("polarity kernel vs TextBlob failed")
        polarity = json.loads(done.stdout.strip().splitlines()[-1])
    report(results, time.perf_counter() - began, load_before, polarity)


def report(results: list[dict], total_seconds: float, load_before=(0.0, 0.0, 0.0), polarity=None) -> None:
    # Identity checks: every engine of ours against serial (same rows), Snorkel against ours
    # on the rows Snorkel computed (the first n of the same draw).
    checks = {}
    for result in results:
        if result["engine"] == "serial":
            continue
        reference = next(
            (r for r in results if r["engine"] == "serial" and r["set"] == result["set"]
             and r["rows"] >= result["rows"]),
            None,
        )
        if reference is None:
            continue
        same = bool(np.array_equal(result["matrix"], reference["matrix"][: result["rows"]]))
        result["identical_to_serial"] = same
        checks[f"{result['set']}/{result['engine']}/{result['rows']}"] = same
    snorkel = {r["set"]: r for r in results if r["engine"] == "snorkel"}
    for result in results:
        base = snorkel.get(result["set"])
        if base is not None and result["engine"] != "snorkel":
            result["x_snorkel"] = result["rows_per_s"] / base["rows_per_s"]

    print()
    print("Rows/s (higher is better); x_snorkel = rows/s over Snorkel's rows/s on its subsample.")
    print("Snorkel is measured on a subsample (first rows of the same draw) because it is slow.")
    print("cores = CPU seconds of the process tree during the apply / its wall seconds.")
    header = f"{'set':5s} {'engine':8s} {'rows':>9s} {'seconds':>8s} {'rows/s':>10s} {'x_snorkel':>9s} " \
             f"{'startup_s':>9s} {'cores':>5s} {'tree_MB':>7s} {'self_MB':>7s}  identical  dask_workers_MB"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['set']:5s} {r['engine']:8s} {r['rows']:>9,} {r['seconds']:>8.2f} {r['rows_per_s']:>10,.0f} "
            f"{r.get('x_snorkel', float('nan')):>9.1f} {r['startup_s']:>9.1f} {r['cores_used']:>5.2f} {r['peak_tree_rss_mb']:>7} "
            f"{r['peak_self_mb']:>7}  {str(r.get('identical_to_serial', '-')):9s}  {r.get('workers_peak_mb', '')}"
        )
    print()
    all_identical = all(checks.values())
    print(f"Slice matrices identical across engines and to Snorkel's: {all_identical} ({len(checks)} checks)")
    targets = {}
    for set_name, needed in (("fast4", 30), ("all5", 50)):
        ours = [r for r in results if r["set"] == set_name and "x_snorkel" in r and r["engine"] != "rowwise"]
        if ours:
            best = max(ours, key=lambda r: r["x_snorkel"])
            targets[f"{set_name}_best_x_snorkel"] = round(best["x_snorkel"], 1)
            targets[f"{set_name}_best_engine"] = f"{best['engine']}@{best['rows']}"
            targets[f"{set_name}_target_x"] = needed
            print(f"{set_name}: best {best['x_snorkel']:.1f}x Snorkel ({best['engine']}, {best['rows']:,} rows); "
                  f"target {needed}x: {'met' if best['x_snorkel'] >= needed else 'NOT met'}")
    dask_1m = [r for r in results if r["engine"] == "dask" and r["rows"] >= 1_000_000]
    for r in dask_1m:
        print(f"dask {r['set']} {r['rows']:,} rows: peak memory of the whole process tree "
              f"{r['peak_tree_rss_mb']} MB (client {r['peak_self_mb']} MB, workers {r['workers_peak_mb']} MB, "
              f"nannies and others {r['other_processes_peak_mb']} MB); "
              f"target < 2048 MB: {'met' if r['peak_tree_rss_mb'] < 2048 else 'NOT met'}")
    if polarity is not None:
        print(f"Polarity alone, {polarity['rows']:,} unique rows in one process (best of 3 rounds): "
              f"TextBlob {polarity['textblob_rows_per_s']:,.0f} rows/s, kernel {polarity['kernel_rows_per_s']:,.0f} "
              f"rows/s: {polarity['kernel_x_textblob']:.1f}x, bit-identical: {polarity['bit_identical']} "
              f"(compiled walk: {polarity['compiled_walk']})")
    load_after = os.getloadavg()
    print(f"Total benchmark time: {total_seconds:.0f} s on {os.cpu_count()} CPUs; 1-min load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (above ~2 means other processes "
          f"competed for the CPUs and every rate here is lower than on an idle machine)")
    figures = {
        "results": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k != "matrix"}
                    for r in results],
        "identical": all_identical,
        "checks": checks,
        **targets,
        "polarity_kernel": None if polarity is None else {
            k: (round(v, 3) if isinstance(v, float) else v) for k, v in polarity.items()
        },
        "total_seconds": round(total_seconds, 1),
        "cpus": os.cpu_count(),
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
