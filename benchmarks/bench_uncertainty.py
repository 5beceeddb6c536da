"""Time of per-slice intervals (1,000 bootstrap resamples) at 250 / 100,000 / 1,000,000 rows x 5 / 100 slices.

    .venv/bin/python benchmarks/bench_uncertainty.py            # every size (a few minutes)
    .venv/bin/python benchmarks/bench_uncertainty.py --quick    # 250 and 100,000 rows only

Confusion metrics (accuracy, precision, recall, f1) draw each slice's confusion table from
Dirichlet(counts + 1/2) (one Gamma call per slice); roc_auc draws each slice's counts per
(score group, label) from one multinomial: exact up to ``--auc-bins`` distinct scores, rank
bins beyond (the full 1,000 resamples at every size). "paired roc_auc" is
``compare_models`` of two models on roc_auc at 100,000 rows x 5 slices: a paired bootstrap
that still resamples rows (weight matrices), run with fewer resamples where it would exceed
--auc-budget row-resamples and scaled linearly to 1,000 (marked "scaled"). With fairlearn
installed, its MetricFrame bootstrap (n_boot) is timed per resample at 100,000 rows beside ours.
Each slice is a random 1-10% of the rows (plus ``overall``). "of which counting" is the part spent
reading the slice matrix into per-slice confusion counts (the resampling is the rest).
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from slicekit.slicing.apply import to_recarray
from slicekit.slicing.comparison import compare_models
from slicekit.slicing.uncertainty import Uncertainty, cell_counts, gold_codes, slice_intervals

RESAMPLES = 1000
CONFUSION = ["accuracy", "precision", "recall", "f1"]


def synthetic(n_rows: int, n_slices: int, seed: int = 0):
    """Binary golds, a model with signal (AUC ~ 0.76), and slices of 1-10% of the rows."""
    rng = np.random.default_rng(seed)
    golds = rng.integers(0, 2, n_rows)
    scores = 1 / (1 + np.exp(-rng.normal(golds * 1.0 - 0.5, 1.0)))
    probs = np.c_[1 - scores, scores]
    preds = (scores > 0.5).astype(int)
    fractions = rng.uniform(0.01, 0.10, n_slices)
    masks = (rng.random((n_rows, n_slices)) < fractions).astype(np.int8)
    masks[:3] = 1  # no empty slice at 250 rows
    S = to_recarray(masks, [f"s{i}" for i in range(n_slices)])
    return S, golds, preds, probs


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def timed_cpu(func) -> tuple[float, float]:
    """(wall, CPU) seconds: CPU time shows what a machine shared with other work hides."""
    start, start_cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - start, time.process_time() - start_cpu


def fairlearn_seconds_per_resample(n_rows: int = 100_000, n_boot: int = 3) -> float | None:
    try:
        from fairlearn.metrics import MetricFrame
    except ImportError:
        return None
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    golds = rng.integers(0, 2, n_rows)
    preds = np.where(rng.random(n_rows) < 0.8, golds, 1 - golds)
    groups = rng.integers(0, 5, n_rows)

    def frame(k: int) -> None:
        MetricFrame(metrics={"f1": f1_score}, y_true=golds, y_pred=preds, sensitive_features=groups,
                    n_boot=k or None, ci_quantiles=[0.025, 0.975] if k else None, random_state=0 if k else None)

    return max(timed(lambda: frame(n_boot)) - timed(lambda: frame(0)), 0.0) / n_boot


def paired_auc_seconds(budget: float, n_rows: int = 100_000, n_slices: int = 5) -> dict:
    """compare_models on roc_auc for two models (the paired bootstrap resamples rows)."""
    S, golds, preds, probs = synthetic(n_rows, n_slices)
    other = np.clip(probs + np.random.default_rng(1).normal(0, 0.05, probs.shape), 0, 1)
    models = {"a": (preds, probs), "b": ((other[:, 1] > 0.5).astype(int), other)}
    slice_rows = int(n_rows + sum(int(S[name].sum()) for name in S.dtype.names))
    resamples = int(min(RESAMPLES, max(5, budget // slice_rows)))
    seconds = timed(lambda: compare_models(S, golds, models, ["roc_auc"], {"resamples": resamples}))
    return {"seconds": seconds * RESAMPLES / resamples, "resamples_run": resamples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip 1,000,000 rows")
    parser.add_argument("--auc-budget", type=float, default=1e8,
                        help="most row-resamples (slice rows x resamples, summed) to run for the paired roc_auc")
    parser.add_argument("--auc-bins", type=int, default=Uncertainty.auc_bins,
                        help="uncertainty.auc_bins: roc_auc resampling exact up to this many distinct scores")
    args = parser.parse_args()
    sizes = [250, 100_000] if args.quick else [250, 100_000, 1_000_000]
    results = []
    print(f"cores: {os.cpu_count()}, resamples: {RESAMPLES}")
    print(f"{'rows':>9} {'slices':>6} {'slice rows':>11} {'acc/prec/rec/f1 boot':>21} {'of which counting':>18} "
          f"{'same, wilson props':>19} {'roc_auc':>10}  CPU: boot / roc_auc")
    for n_rows in sizes:
        for n_slices in (5, 100):
            S, golds, preds, probs = synthetic(n_rows, n_slices)
            slice_rows = int(n_rows + sum(int(S[name].sum()) for name in S.dtype.names))
            boot = Uncertainty(resamples=RESAMPLES, proportions="bootstrap")
            t_confusion, cpu_confusion = timed_cpu(lambda: slice_intervals(S, golds, preds, probs, CONFUSION, boot))
            t_count = timed(lambda: cell_counts(S, gold_codes(golds, 2) * 3 + preds + 1, 9))
            t_wilson = timed(lambda: slice_intervals(S, golds, preds, probs, CONFUSION, Uncertainty(resamples=RESAMPLES)))
            auc = Uncertainty(resamples=RESAMPLES, auc_bins=args.auc_bins)
            t_auc, cpu_auc = timed_cpu(lambda: slice_intervals(S, golds, preds, probs, ["roc_auc"], auc))
            print(f"{n_rows:>9,} {n_slices:>6} {slice_rows:>11,} {t_confusion:>19.3f} s {t_count:>16.3f} s {t_wilson:>17.3f} s "
                  f"{t_auc:>8.2f} s  {cpu_confusion:.2f} s / {cpu_auc:.2f} s")
            results.append({
                "rows": n_rows, "slices": n_slices, "slice_rows": slice_rows,
                "confusion_bootstrap_s": round(t_confusion, 4), "counting_s": round(t_count, 4), "confusion_wilson_s": round(t_wilson, 4),
                "roc_auc_s": round(t_auc, 2), "roc_auc_resamples_run": RESAMPLES,
                "confusion_bootstrap_cpu_s": round(cpu_confusion, 4), "roc_auc_cpu_s": round(cpu_auc, 2),
            })
    paired = paired_auc_seconds(args.auc_budget)
    print(f"paired roc_auc (compare_models, rows path), 100,000 rows x 5 slices, 2 models: {paired['seconds']:.1f} s"
          + ("" if paired["resamples_run"] == RESAMPLES else f"  (scaled from {paired['resamples_run']} resamples)"))
    ours = next(r for r in results if r["rows"] == 100_000 and r["slices"] == 5)["confusion_bootstrap_s"] / RESAMPLES
    fairlearn = fairlearn_seconds_per_resample()
    if fairlearn is None:
        print("fairlearn not installed: no MetricFrame comparison (pip install fairlearn)")
    else:
        print(f"per resample at 100,000 rows, 5 groups/slices, f1: fairlearn MetricFrame {fairlearn:.3f} s, "
              f"slicekit {ours * 1e6:.1f} us (x{fairlearn / ours:,.0f})")
    print(json.dumps({
        "benchmark": "uncertainty", "resamples": RESAMPLES, "cores": os.cpu_count(), "results": results,
        "fairlearn_s_per_resample_100k": None if fairlearn is None else round(fairlearn, 4),
        "slicekit_confusion_s_per_resample_100k": round(ours, 7), "auc_bins": args.auc_bins,
        "paired_roc_auc_100k_x5_s": round(paired["seconds"], 2), "paired_roc_auc_resamples_run": paired["resamples_run"],
    }))


if __name__ == "__main__":
    main()
