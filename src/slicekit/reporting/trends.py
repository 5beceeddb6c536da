"""Each slice's metric and predicted-positive rate over the last runs: a table and a figure.

Why: one report shows one run; a scheduled run should also show, at a glance, whether a slice
is drifting. The history is a tidy frame (``run_id, start_time, source, model, slice, metric,
value``: what :class:`slicekit.datasets.mlflow_history_dataset.MlflowHistoryDataset` reads back
from MLflow); the run in progress is not in it yet, so its own per-slice table is appended as the
newest point. No Kedro, no MLflow here.

The predicted-positive rate is read where a run logged it (an ``inference`` batch's
``predicted_positive_rate``); for a scored split it follows exactly from the logged confusion
counts of a binary model: ``TP = recall * n_positive``, ``TN = accuracy * n - TP``,
``FP = n - n_positive - TN``, rate ``(TP + FP) / n``. It needs ``accuracy`` and ``recall``
among the scored metrics (the defaults); a table without them, as every multi-class table,
gives NaN.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: The rate every trend shows beside the chosen metric.
POSITIVE_RATE = "predicted_positive_rate"
#: The columns of :func:`slice_trends`' table.
TREND_COLUMNS = ("point", "label", "run_id", "slice", "metric", "value")
#: The columns of :func:`trend_summary`'s table.
SUMMARY_COLUMNS = (
    "slice", "metric", "latest", "previous_median", "rate", "rate_previous_median", "rate_change", "flagged", "n_previous",
)
#: The history columns :func:`slice_trends` reads.
HISTORY_COLUMNS = ("run_id", "start_time", "source", "model", "slice", "metric", "value")
CURRENT_LABEL = "this run"
#: How the history names an ``inference`` batch's rows (its ``batch_slice_summary``).
BATCH_SOURCE, BATCH_MODEL = "batch", "champion"

_TEXT, _MUTED = "#222222", "#666666"
#: Slice colours (Okabe-Ito, then Tol's muted): ``overall`` is always black and thicker.
_SLICE_COLORS = (
    "#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
)
_OVERALL = "overall"


def table_rows(table: pd.DataFrame, *, source: str, model: str | None) -> pd.DataFrame:
    """A per-slice table (``slice, n, n_positive, <metrics>``, or a batch summary with
    ``predicted_positive_rate``) as tidy ``source, model, slice, metric, value`` rows: the shape
    in which the history holds each past run."""
    if "slice" not in table.columns:
        raise ValueError(f"The current per-slice table has no 'slice' column (it has {list(table.columns)}).")
    numeric = [c for c in table.columns if c != "slice" and pd.api.types.is_numeric_dtype(table[c])
               and not pd.api.types.is_bool_dtype(table[c])]
    long = table.melt(id_vars="slice", value_vars=numeric, var_name="metric", value_name="value")
    long["slice"] = long["slice"].astype(str)
    long["model"] = [None if m in ("n", "n_positive") else model for m in long["metric"]]
    long["source"] = source
    return long[["source", "model", "slice", "metric", "value"]].astype({"value": float})


def positive_rate(wide: pd.DataFrame) -> pd.Series:
    """Each row's predicted-positive rate from ``n, n_positive, accuracy, recall`` (binary), or
    the ``predicted_positive_rate`` column where there is one."""
    if POSITIVE_RATE in wide.columns:
        return wide[POSITIVE_RATE].astype(float)
    nan = pd.Series(np.nan, index=wide.index, dtype=float)
    if not {"n", "n_positive", "accuracy", "recall"} <= set(wide.columns):
        return nan  # recall is logged for two classes only: multi-class tables give no rate
    n, positives = wide["n"].astype(float), wide["n_positive"].astype(float)
    recall = wide["recall"].astype(float)
    true_pos = np.where(positives == 0, 0.0, np.round(recall * positives))
    true_neg = np.round(wide["accuracy"].astype(float) * n) - true_pos
    false_pos = (n - positives) - true_neg
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (true_pos + false_pos) / n
    return pd.Series(np.where(n > 0, rate, np.nan), index=wide.index, dtype=float)


def _points(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``slice, metric, value`` of one run: the chosen metric and the predicted-positive rate."""
    wide = rows.pivot_table(index="slice", columns="metric", values="value", aggfunc="first", sort=False)
    values = {metric: wide[metric].astype(float) if metric in wide.columns else pd.Series(np.nan, index=wide.index),
              POSITIVE_RATE: positive_rate(wide)}
    frames = [pd.DataFrame({"slice": wide.index, "metric": name, "value": series.to_numpy()}) for name, series in values.items()]
    return pd.concat(frames, ignore_index=True)


def slice_trends(
    history: pd.DataFrame,
    current: pd.DataFrame | None,
    *,
    metric: str = "f1",
    source: str = "test",
    model: str | None = None,
    last_runs: int = 20,
    current_label: str = CURRENT_LABEL,
) -> pd.DataFrame:
    """The trend table (:data:`TREND_COLUMNS`): for each of the last ``last_runs`` points, oldest
    first, each slice's ``metric`` and :data:`POSITIVE_RATE`.

    ``history`` holds past runs' rows (:data:`HISTORY_COLUMNS`); only rows of ``source`` and of
    ``model`` (plus the model-less counts) are read, and a run without them is no point.
    ``current`` is the run in progress as :func:`table_rows` gives it (``None``: none), appended
    as the newest point and labelled ``current_label``; past points are labelled by their order
    and UTC start time. Slices keep their order of first appearance, the newest run's first.
    """
    if isinstance(last_runs, bool) or not isinstance(last_runs, int) or last_runs < 1:
        raise ValueError(f"last_runs must be an integer >= 1, got {last_runs!r}.")
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"The run history lacks column(s) {missing} (it has {list(history.columns)}).")
    past = history[(history["source"] == source) & (history["model"].isna() | (history["model"] == model))]
    runs = (
        past.groupby("run_id", sort=False)["start_time"].first().reset_index()
        .sort_values(["start_time", "run_id"], kind="stable")
    )
    # Runs with only counts (another model's run) are not points.
    has_values = past[past["model"].notna()]["run_id"].unique()
    runs = runs[runs["run_id"].isin(has_values)]
    keep = last_runs - (1 if current is not None else 0)
    runs = runs.iloc[max(0, len(runs) - keep):] if keep > 0 else runs.iloc[:0]
    frames = []
    for run_id, start in zip(runs["run_id"], runs["start_time"]):
        points = _points(past[past["run_id"] == run_id], metric)
        frames.append(points.assign(run_id=str(run_id), label=f"{pd.Timestamp(start):%Y-%m-%d %H:%M}"))
    if current is not None:
        rows = current[(current["source"] == source) & (current["model"].isna() | (current["model"] == model))]
        frames.append(_points(rows, metric).assign(run_id="", label=current_label))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "value" else object) for c in TREND_COLUMNS})
    for point, frame in enumerate(frames, start=1):
        frame["point"] = point
        if frame["label"].iloc[0] != current_label:
            frame["label"] = f"{point}: " + frame["label"]
    trends = pd.concat(frames, ignore_index=True)
    order = list(dict.fromkeys([*frames[-1]["slice"], *trends["slice"]]))
    rank = {name: i for i, name in enumerate(order)}
    metric_rank = {metric: 0, POSITIVE_RATE: 1}
    trends = trends.assign(_s=trends["slice"].map(rank), _m=trends["metric"].map(metric_rank))
    trends = trends.sort_values(["_m", "_s", "point"], kind="stable").drop(columns=["_s", "_m"])
    return trends[list(TREND_COLUMNS)].reset_index(drop=True).astype({"point": int, "value": float})


def trend_summary(trends: pd.DataFrame, *, metric: str = "f1", threshold: float | None = 0.1) -> pd.DataFrame:
    """Per slice, the newest point beside the median of the earlier ones (:data:`SUMMARY_COLUMNS`):
    ``flagged`` where the predicted-positive rate moved by more than ``threshold`` from that
    median (never with no earlier point, or with ``threshold`` ``None``)."""
    rows = []
    if not len(trends):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
    newest = int(trends["point"].max())
    for slice_name in dict.fromkeys(trends["slice"]):
        own = trends[trends["slice"] == slice_name]
        entry = {"slice": slice_name, "metric": metric}
        for name, key in ((metric, ""), (POSITIVE_RATE, "rate")):
            series = own[own["metric"] == name].set_index("point")["value"]
            latest = float(series.get(newest, np.nan))
            earlier = series[series.index < newest].dropna()
            median = float(earlier.median()) if len(earlier) else np.nan
            if key:
                entry.update(rate=latest, rate_previous_median=median, rate_change=latest - median)
                entry["n_previous"] = int(len(earlier))
            else:
                entry.update(latest=latest, previous_median=median)
        change = entry["rate_change"]
        entry["flagged"] = bool(threshold is not None and not math.isnan(change) and abs(change) > threshold)
        rows.append(entry)
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def slice_colors(slices: Sequence[str]) -> dict[str, str]:
    """A fixed colour per slice, in order; ``overall`` black."""
    colors, i = {}, 0
    for name in slices:
        if name == _OVERALL:
            colors[name] = "#000000"
        else:
            colors[name] = _SLICE_COLORS[i % len(_SLICE_COLORS)]
            i += 1
    return colors


def plot_trends(trends: pd.DataFrame, *, metric: str = "f1", metric_name: str | None = None, split: str = "test") -> Figure:
    """Two panels sharing the x axis (the runs, oldest first): each slice's ``metric`` above and
    its predicted-positive rate below, one line per slice (``overall`` black and thicker)."""
    metric_name = metric_name or metric
    points = sorted(int(p) for p in trends["point"].unique()) if len(trends) else []
    labels = trends.drop_duplicates("point").set_index("point")["label"] if len(trends) else pd.Series(dtype=object)
    slices = list(dict.fromkeys(trends["slice"]))
    colors = slice_colors(slices)
    width = min(16.0, max(9.0, 3.5 + 0.55 * len(points)))
    figure = Figure(figsize=(width, 7.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 1, sharex=True)
    panels = ((metric, f"{metric_name} on {split}" if split else metric_name), (POSITIVE_RATE, "predicted-positive rate"))
    for ax, (name, ylabel) in zip(axes, panels):
        for slice_name in slices:
            series = trends[(trends["slice"] == slice_name) & (trends["metric"] == name)].sort_values("point")
            overall = slice_name == _OVERALL
            ax.plot(
                series["point"], series["value"], marker="o", markersize=5 if overall else 4,
                linewidth=2.6 if overall else 1.5, color=colors[slice_name], label=slice_name, zorder=3 if overall else 2,
            )
        ax.set_ylim(-0.03, 1.05)
        ax.set_ylabel(ylabel, color=_TEXT, fontsize=11)
        ax.grid(axis="y", color="#E6E6E6", linewidth=0.8, zorder=0)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(colors=_TEXT, labelsize=9)
    axes[0].set_title(
        f"{metric_name} and predicted-positive rate per slice, last {len(points)} run{'s' if len(points) != 1 else ''}",
        loc="left", fontsize=13, color=_TEXT, pad=10,
    )
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9.5, title="slice")
    if points:
        axes[1].set_xticks(points, [str(labels.loc[p]) for p in points], rotation=30, ha="right", rotation_mode="anchor")
        axes[1].set_xlim(points[0] - 0.5, points[-1] + 0.5)
    axes[1].set_xlabel("run (oldest first; UTC start time)", color=_MUTED, fontsize=10)
    figure.draw_without_rendering()
    figure.set_layout_engine("none")
    return figure


def batch_trends(history: pd.DataFrame, summary: pd.DataFrame, *, last_runs: int = 20) -> tuple[pd.DataFrame, Figure]:
    """The ``inference`` pipeline's trend: each slice's share of the batch and predicted-positive
    rate over the last ``last_runs`` batches, this batch's ``batch_slice_summary`` the newest."""
    trends = slice_trends(
        history, table_rows(summary, source=BATCH_SOURCE, model=BATCH_MODEL), metric="share",
        source=BATCH_SOURCE, model=BATCH_MODEL, last_runs=last_runs, current_label="this batch",
    )
    return trends, plot_trends(trends, metric="share", metric_name="share of the batch", split="")
