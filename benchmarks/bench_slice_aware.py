"""Benchmark: slicekit's slice-aware classifier (the default configuration) against Snorkel's.

Both train on the tutorial split's bag-of-words features and slice matrices
(built by the project's own featurize / slice_functions nodes and parameters)
for each seed, and are scored per slice on the test split with their final
head. Each configuration runs in its own subprocess, so the memory figures
are its own:

- training time: wall time of Snorkel's ``Trainer.fit`` (the tutorial's 2 epochs), and
  of our pipeline's whole training node (model construction, dataloaders, training
  with early stopping on valid); torch's one-time lazy import of its compiler
  stack, which the first optimizer of a process triggers, is done untimed, for both;
- peak memory: the process's peak RSS (``VmHWM``, reset before each seed via
  ``/proc/self/clear_refs``) while building and training the model, and its rise
  over the RSS just before (data and libraries already loaded); where the peak
  cannot be reset, the process's lifetime peak.

Usage:
    .venv/bin/python benchmarks/bench_slice_aware.py [--data-dir DIR] [--seeds 1 2 3 4 5] [--skip-snorkel]

Prints per-slice test F1 (mean ± sd over seeds) for each, the speedup and peak
memory, and ends with one JSON line ``{"ours": ..., "snorkel": ..., "speedup": ...}``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONF = PROJECT_ROOT / "conf" / "base"
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "youtube_spam"
SLICES = ["short_comment", "keyword_please", "regex_check_out", "short_link", "textblob_polarity"]

# The tutorial's configuration of Snorkel's SliceAwareClassifier.
SNORKEL_EPOCHS, SNORKEL_LR, SNORKEL_BATCH, SNORKEL_LAYERS = 2, 1e-4, 64, 2


def parameters(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF / f"parameters_{name}.yml").read_text())[name]


# -- memory ---------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS counter (Linux); False where it cannot be reset."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_mib() -> float:
    return (_status_kib("VmRSS") or 0) / 1024


def peak_rss_mib() -> float:
    """Peak RSS since the last reset (Linux), else since the process started."""
    peak = _status_kib("VmHWM")
    return (peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


# -- data -----------------------------------------------------------------------------


def load_data(data_dir: Path) -> dict[str, dict[str, Any]]:
    """``{split: {"X", "S", "comments"}}`` from the project's own featurize and slice_functions nodes."""
    from slicekit.pipelines.featurize.nodes import fit_vocabulary, vectorize
    from slicekit.pipelines.slice_functions.nodes import apply_slicing_functions
    from slicekit.youtube_spam import load_tutorial_split

    splits = dict(zip(("train", "valid", "test"), load_tutorial_split(data_dir)))
    featurize = parameters("featurize")
    slicing = {**parameters("slice_functions"), "progress_bar": False}
    vocabulary = fit_vocabulary(splits["train"], featurize)
    return {
        split: {
            "X": vectorize(comments, vocabulary, featurize),
            "S": apply_slicing_functions(comments, slicing),
            "comments": comments,
        }
        for split, comments in splits.items()
    }


def warm_up_torch() -> None:
    """The first optimizer in a process imports torch's compiler stack (seconds): do it untimed."""
    import torch

    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])


# -- the two configurations -------------------------------------------------------------


def run_ours(data: dict, seed: int) -> tuple[Callable[[], None], Callable[[], dict[str, float]]]:
    """The ``slice_aware`` pipeline's own training node with conf/base/parameters_slice_aware.yml.

    Timed as a whole: model construction and dataloaders included, early stopping on valid.
    """
    from slicekit.pipelines.slice_aware.nodes import score_model, train_slice_aware

    config = parameters("slice_aware")
    config = {**config, "seed": seed, "trainer": {**config["trainer"], "progress_bar": False}}
    train, valid, test = data["train"], data["valid"], data["test"]
    model = None

    def fit() -> None:
        nonlocal model
        model = train_slice_aware(
            train["X"], train["comments"], train["S"],
            valid["X"], valid["comments"], valid["S"],
            ["f1"], config,
        )

    def score() -> dict[str, float]:
        table = score_model(model, test["X"], test["comments"], test["S"]).set_index("slice")["f1"]
        return {name: float(table[name]) for name in ["overall", *SLICES]}

    return fit, score


def run_snorkel(data: dict, seed: int) -> tuple[Callable[[], None], Callable[[], dict[str, float]]]:
    """The tutorial's code: dense DictDataLoaders, 2 x Linear(3916, 3916) + ReLU, Adam 1e-4, 2 epochs."""
    import torch
    from snorkel.analysis import Scorer
    from snorkel.classification import DictDataLoader, DictDataset, Trainer
    from snorkel.slicing import SliceAwareClassifier
    from torch import nn

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    def create_dict_dataloader(X, Y, split, **kwargs):
        dataset = DictDataset.from_tensors(
            torch.FloatTensor(X.toarray()), torch.LongTensor(Y.to_numpy()), split
        )
        return DictDataLoader(dataset, **kwargs)

    def get_pytorch_mlp(hidden_dim, num_layers):
        layers = []
        for _ in range(num_layers):
            layers.extend([nn.Linear(hidden_dim, hidden_dim), nn.ReLU()])
        return nn.Sequential(*layers)

    X_train, S_train, Y_train = data["train"]["X"], data["train"]["S"], data["train"]["comments"]["label"]
    X_test, S_test, Y_test = data["test"]["X"], data["test"]["S"], data["test"]["comments"]["label"]
    hidden_dim = X_train.shape[1]
    slice_model = SliceAwareClassifier(
        base_architecture=get_pytorch_mlp(hidden_dim=hidden_dim, num_layers=SNORKEL_LAYERS),
        head_dim=hidden_dim,
        slice_names=list(S_train.dtype.names),
        scorer=Scorer(metrics=["f1"]),
    )
    train_dl = create_dict_dataloader(X_train, Y_train, "train")
    train_dl_slice = slice_model.make_slice_dataloader(
        train_dl.dataset, S_train, shuffle=True, batch_size=SNORKEL_BATCH
    )
    test_dl = create_dict_dataloader(X_test, Y_test, "train")
    test_dl_slice = slice_model.make_slice_dataloader(
        test_dl.dataset, S_test, shuffle=False, batch_size=SNORKEL_BATCH
    )
    trainer = Trainer(n_epochs=SNORKEL_EPOCHS, lr=SNORKEL_LR, progress_bar=False, seed=seed)

    def score() -> dict[str, float]:
        scores = slice_model.score_slices([test_dl_slice], as_dataframe=False)
        overall = "task/SnorkelDataset/train/f1"
        slices = {n: float(scores[f"task_slice:{n}_pred/SnorkelDataset/train/f1"]) for n in SLICES}
        return {"overall": float(scores[overall]), **slices}

    return lambda: trainer.fit(slice_model, [train_dl_slice]), score


CONFIGURATIONS = {"ours": run_ours, "snorkel": run_snorkel}


def worker(name: str, data_dir: Path, seeds: list[int]) -> dict[str, Any]:
    """One configuration over every seed, in this process: F1 per slice, time and memory per seed."""
    import torch

    data = load_data(data_dir)
    warm_up_torch()
    runs = []
    for seed in seeds:
        resettable = reset_peak_rss()
        before = rss_mib()
        fit, score = CONFIGURATIONS[name](data, seed)
        start = time.perf_counter()
        fit()
        seconds = time.perf_counter() - start
        peak = peak_rss_mib()
        runs.append({"seed": seed, "train_s": seconds, "peak_rss_mib": peak,
                     "training_rss_rise_mib": peak - before if resettable else None, "f1": score()})
        del fit, score
    threads = parameters("slice_aware")["trainer"].get("num_threads") if name == "ours" else None
    return {"configuration": name, "torch_threads": threads or torch.get_num_threads(), "runs": runs}


# -- report ---------------------------------------------------------------------------


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    runs = result["runs"]
    f1 = {
        name: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0}
        for name in ["overall", *SLICES]
        for v in [[run["f1"][name] for run in runs]]
    }
    times = [run["train_s"] for run in runs]
    rises = [run["training_rss_rise_mib"] for run in runs if run["training_rss_rise_mib"] is not None]
    return {
        "f1": f1,
        "train_s_mean": float(np.mean(times)),
        "train_s_per_seed": [round(t, 3) for t in times],
        "peak_rss_mib": float(max(run["peak_rss_mib"] for run in runs)),
        "training_rss_rise_mib": float(max(rises)) if rises else None,
        "seeds": [run["seed"] for run in runs],
        "torch_threads": result["torch_threads"],
    }


def run_subprocess(name: str, data_dir: Path, seeds: list[int]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", name, "--data-dir", str(data_dir),
               "--seeds", *map(str, seeds)]
    env = {**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_report(summaries: dict[str, dict[str, Any]]) -> None:
    names = list(summaries)
    print(f"\nTest F1 on the final head, mean ± sd over seeds {summaries[names[0]]['seeds']}")
    print(f"{'slice':<20}" + "".join(f"{name:>18}" for name in names))
    for slice_name in ["overall", *SLICES]:
        cells = "".join(
            f"{s['f1'][slice_name]['mean']:>11.3f} ± {s['f1'][slice_name]['sd']:.3f}" for s in summaries.values()
        )
        print(f"{slice_name:<20}{cells}")
    print()
    for name, s in summaries.items():
        rise = "n/a" if s["training_rss_rise_mib"] is None else f"{s['training_rss_rise_mib']:.0f} MiB"
        print(
            f"{name:<8} training {s['train_s_mean']:.2f} s per seed {s['train_s_per_seed']} "
            f"({s['torch_threads']} torch threads), "
            f"peak RSS {s['peak_rss_mib']:.0f} MiB (rise during training {rise})"
        )
    if "snorkel" in summaries:
        speedup = summaries["snorkel"]["train_s_mean"] / summaries["ours"]["train_s_mean"]
        print(f"speedup (snorkel training time / ours): {speedup:.1f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("SPAM_DATA_DIR", DEFAULT_DATA_DIR)))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--skip-snorkel", action="store_true")
    parser.add_argument("--worker", choices=sorted(CONFIGURATIONS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()

    if args.worker:
        print(json.dumps(worker(args.worker, data_dir, args.seeds)))
        return

    names = ["ours"]
    if args.skip_snorkel:
        print("Snorkel skipped (--skip-snorkel).")
    elif importlib.util.find_spec("snorkel") is None:
        print("Snorkel is not importable: measuring ours only (pip install -e '.[benchmark]').")
    else:
        names.append("snorkel")
    summaries = {}
    for name in names:
        print(f"training {name} on seeds {args.seeds} ...", flush=True)
        summaries[name] = summarise(run_subprocess(name, data_dir, args.seeds))
    print_report(summaries)
    speedup = (
        summaries["snorkel"]["train_s_mean"] / summaries["ours"]["train_s_mean"] if "snorkel" in summaries else None
    )
    print(json.dumps({"ours": summaries["ours"], "snorkel": summaries.get("snorkel"), "speedup": speedup}))


if __name__ == "__main__":
    main()
