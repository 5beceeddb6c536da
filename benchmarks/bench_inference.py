"""Benchmark: the ``inference`` pipeline's nodes end to end on a large new batch.

    .venv/bin/python benchmarks/bench_inference.py [--rows 1000000] [--configs pandas-fast4 pandas-all5 dask-fast4 pyfunc-fast4]

By default ``pandas-fast4`` and ``pandas-all5``; ``dask-fast4`` and ``pyfunc-fast4`` on request.

The batch is ``--rows`` comments drawn (with replacement, fixed seed) from the YouTube Spam
Collection, each text with a unique suffix `` [i]`` (as benchmarks/bench_apply.py builds
them), with the raw columns ``author, date, text, video`` and no label: an unlabelled batch.
The champion is a slice-aware model trained (project parameters, seed from
``parameters_slice_aware.yml``) on the tutorial's train split with the configuration's slicing
functions, and the count featurizer fit on the same rows.

Timed, in order (``rows_per_s`` is rows over their sum): ``validate`` (the pandera checks of
``data_processing``), ``slice`` (the slicing functions: ``pandas`` engine in this process, or
``dask``: a 2-worker LocalCluster, started before the clock, its start-up reported apart, and
closed after this stage, as the node does),
``predict`` (featurize + the slice-aware model's probabilities + the predictions frame with slice
membership), ``summary`` (each slice's size and predicted-positive rate). The model's sparse path
(first layer sparse x dense, experts folded into the heads; see ``SliceClassifierBase.predict_proba``)
is what the pipeline runs. To say where ``predict``'s time goes, its featurize part is then timed
again alone (``featurize_s``, the same chunks, not added to the total). SF sets: ``fast4``
(short_comment, keyword_please, regex_check_out, short_link) and ``all5`` (plus
textblob_polarity). ``pyfunc``: the same model as an MLflow "model from code" (slicekit's
serving bundle, saved and loaded with ``mlflow.pyfunc``), its ``predict`` on the same rows
(featurize, slicing functions, prediction; no validation or summary).

Every configuration runs in its own process; memory is the peak of the summed RSS of that
process and all its descendants (Dask workers and nanny included), sampled every 50 ms. Targets
on a 2-core machine: at least 50,000 rows/s with ``fast4``, peak under 2 GiB. The last line
printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_apply import DEFAULT_DATA, SETS, TreeMemory  # noqa: E402

CONFIGS = ("pandas-fast4", "pandas-all5", "dask-fast4", "pyfunc-fast4")
#: The default: the two headline figures (about 5 minutes on 2 idle cores); --configs adds the others.
DEFAULT_CONFIGS = ("pandas-fast4", "pandas-all5")
TARGET_ROWS_PER_S = 50_000
TARGET_PEAK_BYTES = 2 * 1024**3


def _params(name: str) -> dict:
    import yaml

    return yaml.safe_load((ROOT / "conf" / "base" / f"parameters_{name}.yml").read_text())[name]


def make_batch(data_dir: str, n: int, seed: int = 2026):
    import numpy as np
    import pandas as pd

    from slicekit.youtube_spam import load_tutorial_split

    pool = pd.concat(load_tutorial_split(data_dir), ignore_index=True)
    picks = np.random.default_rng(seed).integers(0, len(pool), n)
    rows = pool.iloc[picks].reset_index(drop=True)
    return pd.DataFrame({
        "author": rows["author"].to_numpy(),
        "date": rows["date"].to_numpy(),
        "text": [f"{t} [{i}]" for i, t in enumerate(rows["text"].tolist())],
        "video": rows["video"].to_numpy(),
    })


def train_champion(data_dir: str, slice_params: dict):
    """The count featurizer and a slice-aware model on the tutorial's train split (early-stopped on valid)."""
    from slicekit import features
    from slicekit.pipelines.inference.nodes import slice_batch
    from slicekit.pipelines.slice_aware.nodes import train_slice_aware
    from slicekit.youtube_spam import load_tutorial_split

    train, valid, _ = load_tutorial_split(data_dir)
    featurizer = features.fit_featurizer(train, _params("featurize"), text_column="text")
    model = train_slice_aware(
        features.transform(train, featurizer), train, slice_batch(train, slice_params),
        features.transform(valid, featurizer), valid, slice_batch(valid, slice_params),
        _params("slice_scoring")["metrics"], _params("slice_aware"),
    )
    return featurizer, model


def run_one(config: str, rows: int, data_dir: str) -> dict:
    """One configuration, in this (fresh) process."""
    from slicekit.pipelines.inference import nodes

    engine, sf_set = config.split("-")
    slice_params = {**_params("slice_functions"), "names": SETS[sf_set], "declared": [], "progress_bar": False,
                    "engine": "dask" if engine == "dask" else "pandas", "n_jobs": 1}
    slice_params["dask"] = {**(slice_params.get("dask") or {}), "n_workers": 2, "threads_per_worker": 1}
    data_processing, monitoring = _params("data_processing"), _params("monitoring")
    featurizer, model = train_champion(data_dir, slice_params)
    batch_frame = make_batch(data_dir, rows)
    result = {"config": config, "rows": rows, "sfs": SETS[sf_set]}
    cluster = client = None
    with TreeMemory() as memory:
        if engine == "dask":
            from dask.distributed import Client, LocalCluster

            start = time.perf_counter()
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
            slice_params["dask"]["scheduler_address"] = cluster.scheduler_address
            nodes.slice_batch(batch_frame.head(2_000), slice_params)  # warm-up: imports in the workers
            result["startup_s"] = time.perf_counter() - start
        else:
            nodes.slice_batch(batch_frame.head(500), slice_params)  # warm-up: lexicons, tables
        stages = {}
        if engine == "pyfunc":
            predict = _pyfunc(model, featurizer, slice_params)
            start = time.perf_counter()
            out = predict(batch_frame[["text"]])
            stages["pyfunc_predict"] = time.perf_counter() - start
            assert len(out) == rows
        else:
            start = time.perf_counter()
            batch, _ = nodes.validate_batch(batch_frame, data_processing)
            stages["validate"] = time.perf_counter() - start
            start = time.perf_counter()
            S = nodes.slice_batch(batch, slice_params)
            stages["slice"] = time.perf_counter() - start
            if client is not None:  # as in the pipeline, the cluster is gone once the slice matrix is
                client.close()
                cluster.close()
                client = None
            start = time.perf_counter()
            predictions = nodes.predict_batch(model, featurizer, batch, S)
            stages["predict"] = time.perf_counter() - start
            start = time.perf_counter()
            summary = nodes.summarise_batch(predictions, S, monitoring)
            stages["summary"] = time.perf_counter() - start
            result["predicted_positive_rate"] = float(summary.loc[0, "predicted_positive_rate"])
            del predictions, summary
            result["featurize_s"] = round(_featurize_time(batch, featurizer, getattr(nodes, "CHUNK_ROWS", 65_536)), 3)
        if client is not None:
            client.close()
            cluster.close()
    total = sum(stages.values())
    result.update({f"{k}_s": round(v, 3) for k, v in stages.items()})
    result.update({"total_s": round(total, 3), "rows_per_s": round(rows / total),
                   "peak_tree_bytes": int(memory.peak)})
    return result


def _featurize_time(batch, featurizer, chunk_rows: int) -> float:
    """Seconds to featurize ``batch`` in the inference node's chunks (part of the ``predict`` stage)."""
    from slicekit import features

    start = time.perf_counter()
    for offset in range(0, len(batch), chunk_rows):
        features.transform(batch.iloc[offset:offset + chunk_rows], featurizer)
    return time.perf_counter() - start


def _pyfunc(model, featurizer, slice_params):
    """The model saved as slicekit's pyfunc model from code and loaded back; its ``predict``."""
    import mlflow

    from slicekit.serving import write_bundle
    from slicekit.serving import pyfunc_model

    scratch = Path(tempfile.mkdtemp(prefix="bench_inference_"))
    bundle = write_bundle(scratch / "bundle", model, featurizer, slice_params, ["ham", "spam"],
                          {"text": "string"}, ["text"], name="bench")
    mlflow.pyfunc.save_model(str(scratch / "model"), python_model=pyfunc_model.__file__,
                             artifacts={pyfunc_model.BUNDLE_ARTIFACT: str(bundle)})
    return mlflow.pyfunc.load_model(str(scratch / "model")).predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS), choices=CONFIGS)
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.rows, args.data_dir)))
        return

    import os

    results, load = [], {"load_average_before": os.getloadavg()[0]}
    for config in args.configs:
        done = subprocess.run([sys.executable, __file__, "--child", config, "--rows", str(args.rows),
                               "--data-dir", args.data_dir], capture_output=True, text=True)
        if done.returncode != 0:
            results.append({"config": config, "error": done.stderr.strip().splitlines()[-1:]})
            print(f"{config}: failed: {done.stderr.strip()[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))

    header = f"{'config':<14}{'rows':>10}{'validate s':>12}{'slice s':>10}{'predict s':>11}{'(featurize)':>12}" \
             f"{'summary s':>11}{'total s':>9}{'rows/s':>10}{'peak MiB':>10}"
    print(header)
    for r in results:
        if "error" in r:
            print(f"{r['config']:<14} failed: {r['error']}")
            continue
        cells = [r.get(k) for k in ("validate_s", "slice_s", "predict_s", "featurize_s", "summary_s")]
        if r["config"].startswith("pyfunc"):
            cells = ["-", "-", r["pyfunc_predict_s"], "-", "-"]
        print(f"{r['config']:<14}{r['rows']:>10,}" + "".join(f"{c:>{w}}" for c, w in zip(cells, (12, 10, 11, 12, 11)))
              + f"{r['total_s']:>9}{r['rows_per_s']:>10,}{r['peak_tree_bytes'] / 2**20:>10.0f}")
    fast = [r for r in results if r.get("config") in ("pandas-fast4", "dask-fast4") and "error" not in r]
    verdict = {
        "target_rows_per_s": TARGET_ROWS_PER_S, "target_peak_bytes": TARGET_PEAK_BYTES,
        "fast4_meets_rows_per_s": {r["config"]: r["rows_per_s"] >= TARGET_ROWS_PER_S for r in fast},
        "meets_peak": {r["config"]: r["peak_tree_bytes"] < TARGET_PEAK_BYTES for r in results if "error" not in r},
    }
    load["load_average_after"] = os.getloadavg()[0]  # other processes on the machine slow every figure
    print(f"cpus: {os.cpu_count()}, 1-minute load average before/after: "
          f"{load['load_average_before']:.1f}/{load['load_average_after']:.1f}")
    print(json.dumps({"benchmark": "bench_inference", "rows": args.rows, "cpus": os.cpu_count(), **load,
                      "results": results, **verdict}))


if __name__ == "__main__":
    main()
