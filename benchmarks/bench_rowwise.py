"""Benchmark: row-wise slicing functions, per row object (the cost of handing SFs a real pd.Series).

    .venv/bin/python benchmarks/bench_rowwise.py [--rows 20000] [--rounds 5]

Slicing functions called row by row receive, since slicekit matched Snorkel's API,
a real ``pd.Series`` (:func:`slicekit.slicing.data_point.iter_rows`: one reused
``RowSeries``, as ``df.apply(axis=1)`` passes them, with a shortcut for column
look-ups). This script times the four cheap tutorial SFs (short_comment,
keyword_please, regex_check_out, short_link; their row-wise functions) over the
same comments with three row sources:

* ``datapoint``: slicekit's former row object (:class:`slicekit.slicing.DataPoint`
  built per row from the column lists, as the applier did before);
* ``rowseries``: the ``pd.Series`` the applier now passes;
* ``pandas_apply``: plain ``df.apply(f, axis=1)`` rows, what Snorkel's applier passes.

plus the whole applier (``PandasSFApplier(sfs, use_vectorized=False)``, serial):
``applier_before`` (with DataPoint rows, as before the change), ``applier_now`` and
Snorkel's. Rounds alternate between sources; each figure is the best
round (rows/s), so load from other processes affects the ratios little. The last
line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "youtube_spam"


def comments(data_dir: str, n: int, seed: int = 2026) -> pd.DataFrame:
    from slicekit.youtube_spam import load_tutorial_split

    frame = pd.concat(load_tutorial_split(data_dir))
    picks = np.random.default_rng(seed).integers(0, len(frame), n)
    return frame.iloc[picks].reset_index(drop=True)


def datapoints(df: pd.DataFrame):
    """The former row source: a DataPoint per row from the column lists."""
    from slicekit.slicing import DataPoint

    columns = [str(c) for c in df.columns]
    values = [df[c].tolist() for c in df.columns]
    for index, row in zip(df.index, zip(*values)):
        yield DataPoint(dict(zip(columns, row)), name=index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args()

    import snorkel.slicing as snorkel_slicing

    from slicekit import slice_functions as tutorial
    from slicekit.slicing import PandasSFApplier
    from slicekit.slicing.data_point import iter_rows

    df = comments(args.data, args.rows)
    sfs = [tutorial.short_comment, tutorial.keyword_please, tutorial.regex_check_out, tutorial.short_link]
    theirs = [snorkel_slicing.SlicingFunction(name=sf.name, f=sf._f, resources=sf.resources) for sf in sfs]

    def loop(rows) -> list[list[bool]]:
        return [[bool(sf(x)) for sf in sfs] for x in rows]

    def applier_before():
        """Today's applier with the former row source (DataPoint) swapped in."""
        from slicekit.slicing.apply import core

        now = core.iter_data_points
        core.iter_data_points = datapoints
        try:
            return PandasSFApplier(sfs, use_vectorized=False).apply(df, progress_bar=False)
        finally:
            core.iter_data_points = now

    sources = {
        "datapoint": lambda: loop(datapoints(df)),
        "rowseries": lambda: loop(iter_rows(df)),
        "pandas_apply": lambda: df.apply(lambda x: [bool(sf(x)) for sf in sfs], axis=1).tolist(),
        "applier_before": applier_before,
        "applier_now": lambda: PandasSFApplier(sfs, use_vectorized=False).apply(df, progress_bar=False),
        "applier_snorkel": lambda: snorkel_slicing.PandasSFApplier(theirs).apply(df, progress_bar=False),
    }
    best = {name: float("inf") for name in sources}
    outputs = {}
    for _ in range(args.rounds):
        for name, run in sources.items():
            start = time.perf_counter()
            outputs[name] = run()
            best[name] = min(best[name], time.perf_counter() - start)
    same = outputs["datapoint"] == outputs["rowseries"] == outputs["pandas_apply"]
    matrix = np.array(outputs["datapoint"], dtype=np.int64)
    same_applier = all(
        np.array_equal(outputs[a][sf.name], matrix[:, j]) for a in ("applier_before", "applier_now", "applier_snorkel") for j, sf in enumerate(sfs)
    )
    rates = {name: args.rows / seconds for name, seconds in best.items()}
    print(f"{args.rows:,} comments, 4 row-wise SFs, best of {args.rounds} rounds")
    print(f"{'row source':<18}{'rows/s':>12}{'vs datapoint':>14}")
    for name, rate in rates.items():
        print(f"{name:<18}{rate:>12,.0f}{rate / rates['datapoint']:>13.2f}x")
    print(f"identical memberships: loops {same}, appliers {same_applier}")
    print(json.dumps({
        "rows": args.rows, "rounds": args.rounds, "rows_per_s": {k: round(v) for k, v in rates.items()},
        "rowseries_vs_datapoint": round(rates["rowseries"] / rates["datapoint"], 3),
        "applier_now_vs_before": round(rates["applier_now"] / rates["applier_before"], 3),
        "applier_now_vs_snorkel": round(rates["applier_now"] / rates["applier_snorkel"], 3),
        "identical": bool(same and same_applier),
    }))


if __name__ == "__main__":
    main()
