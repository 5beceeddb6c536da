"""Label-free per-slice estimates against the truth on the tutorial's test split.

    SPAM_DATA_DIR=/path/to/youtube_spam .venv/bin/python benchmarks/bench_estimation.py [--method platt]

Trains the tutorial's baseline (CountVectorizer on train text, LogisticRegression(C=0.001,
liblinear), as conf/base/parameters_baseline.yml), calibrates its probabilities on the valid
split (conf/base/parameters_monitoring.yml, monitoring.estimation), estimates each slice's
metrics on the test split WITHOUT its labels, then compares with the metrics the labels give.
Prints a table (slice, metric, n, estimate, low, high, truth, covered), then one JSON line.
The test split has 250 rows and valid 120: every slice is calibrated globally (no slice has
min_support validation rows), and a slice of 3 rows has a wide interval, as it should.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from slicekit.monitoring.estimation import Estimation, SliceCalibrator, estimate_slice_performance
from slicekit.slice_functions import get_slicing_functions
from slicekit.slicing import PandasSFApplier, slice_scores_table
from slicekit.youtube_spam import load_tutorial_split

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=["isotonic", "platt"], default=None,
                        help="calibrator (default: monitoring.estimation.method)")
    args = parser.parse_args()

    params = yaml.safe_load((ROOT / "conf/base/parameters_monitoring.yml").read_text())["monitoring"]["estimation"]
    if args.method:
        params["method"] = args.method
    config = Estimation.from_params(params)
    model_options = yaml.safe_load((ROOT / "conf/base/parameters_baseline.yml").read_text())["baseline"]["model"]
    names = yaml.safe_load((ROOT / "conf/base/parameters_slice_functions.yml").read_text())["slice_functions"]["names"]

    train, valid, test = load_tutorial_split(os.environ["SPAM_DATA_DIR"])
    vectorizer = CountVectorizer()
    X_train = vectorizer.fit_transform(train["text"])
    model = LogisticRegression(**model_options).fit(X_train, train["label"])
    applier = PandasSFApplier(get_slicing_functions(names))
    S_valid, S_test = applier.apply(valid, progress_bar=False), applier.apply(test, progress_bar=False)
    probs_valid = model.predict_proba(vectorizer.transform(valid["text"]))
    X_test = vectorizer.transform(test["text"])
    preds_test, probs_test = model.predict(X_test), model.predict_proba(X_test)

    start = time.perf_counter()
    calibrator = SliceCalibrator(config.method, config.min_support).fit(probs_valid, valid["label"].to_numpy(), S_valid)
    estimates = estimate_slice_performance(S_test, preds_test, probs_test, calibrator, config)  # no test labels
    seconds = time.perf_counter() - start

    truth = slice_scores_table(S_test, test["label"].to_numpy(), preds_test, probs_test, metrics=list(config.metrics))
    truth = truth.melt(id_vars=["slice", "n", "n_positive"], var_name="metric", value_name="truth")
    table = estimates.merge(truth[["slice", "metric", "truth"]], on=["slice", "metric"], how="left")
    defined = table["truth"].notna() & table["low"].notna()
    inside = (table["low"] <= table["truth"]) & (table["truth"] <= table["high"])
    table["covered"] = np.where(defined, np.where(inside, "yes", "no"), "-")
    table["error"] = table["estimate"] - table["truth"]

    shown = table[["slice", "metric", "n", "calibration", "estimate", "low", "high", "truth", "covered"]]
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.float_format", "{:.3f}".format):
        print(shown.to_string(index=False))
    overall = table[table["slice"] == "overall"].set_index("metric")
    print(json.dumps({
        "benchmark": "estimation", "method": config.method, "draws": config.draws, "level": config.level,
        "test_rows": int(len(test)), "calibration_rows": int(len(valid)),
        "covered": int((defined & inside).sum()), "intervals": int(defined.sum()),
        "mean_abs_error": round(float(table.loc[defined, "error"].abs().mean()), 4),
        "overall_f1": {"estimate": round(float(overall.loc["f1", "estimate"]), 4),
                       "low": round(float(overall.loc["f1", "low"]), 4), "high": round(float(overall.loc["f1", "high"]), 4),
                       "truth": round(float(overall.loc["f1", "truth"]), 4)},
        "per_slice_f1": {row.slice: {"estimate": round(float(row.estimate), 4), "truth": round(float(row.truth), 4)}
                         for row in table[table["metric"] == "f1"].itertuples()},
        "seconds": round(seconds, 3),
    }))


if __name__ == "__main__":
    main()
