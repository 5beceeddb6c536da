"""The slice report's figures, drawn with Matplotlib's object API on the Agg canvas.

Figures are built without ``pyplot`` (no global state, no GUI backend), and
:func:`figure_to_png` writes them byte for byte the same on every run: PNG carries
no timestamp, and :data:`PNG_SAVE_ARGS` drops the "Software" text chunk.
"""

from __future__ import annotations

import io
import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from slicekit.reporting.tables import ANY_SLICE, INSUFFICIENT, OVERALL, interval_columns, overlap_matrix

#: ``savefig`` arguments for every PNG of the report. The catalog's MatplotlibDataset
#: entries (conf/base/catalog_reporting.yml) use the same, so the PNG files equal the
#: images embedded in the HTML page.
PNG_SAVE_ARGS = {"format": "png", "dpi": 100, "facecolor": "white", "metadata": {"Software": None}}

#: Colours for models, in report order (Okabe-Ito: readable with colour-vision deficiencies).
MODEL_COLORS = ("#8C8C8C", "#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442")
#: Colours for splits, in order (train, valid, test).
SPLIT_COLORS = ("#332288", "#44AA99", "#DDCC77", "#AA4499", "#88CCEE")

_TEXT = "#222222"
_MUTED = "#666666"
_SEED_COLOR = "#5A2D82"
#: Opacity of the bars of a slice too small to judge.
_FADED_ALPHA = 0.3


def figure_to_png(figure: Figure) -> bytes:
    """The figure as PNG bytes, with :data:`PNG_SAVE_ARGS`."""
    buffer = io.BytesIO()
    figure.savefig(buffer, **PNG_SAVE_ARGS)
    return buffer.getvalue()


def _frozen(figure: Figure) -> Figure:
    """Lay the figure out once, then fix that layout: constrained layout may move artists a
    little on every draw, and the report saves each figure twice (embedded and as a file)."""
    figure.draw_without_rendering()
    figure.set_layout_engine("none")
    return figure


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(colors=_TEXT, labelsize=10)
    ax.set_axisbelow(True)


def metric_label(metric: str) -> str:
    special = {"f1": "F1", "roc_auc": "ROC AUC", "f1_micro": "F1 (micro)", "f1_macro": "F1 (macro)"}
    return special.get(metric, metric.replace("_", " ").capitalize())


def plot_slice_metric(
    scores: pd.DataFrame,
    metric: str = "f1",
    split: str = "test",
    *,
    seed_spread: pd.DataFrame | None = None,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """Grouped bars of ``metric`` per slice, one bar per model, above a panel of slice sizes.

    ``scores`` is :func:`~slicekit.reporting.tables.combine_slice_scores`'s long table.
    A missing value (e.g. F1 on a slice with no positives) is marked "n/a" instead of a bar.
    Where ``scores`` has ``<metric>_low``/``<metric>_high``, each bar gets an error bar from
    low to high; slices flagged ``insufficient`` are drawn faded, their names greyed. With
    ``seed_spread`` (``model, slice, metric, min, max, ...``) a thin whisker beside each bar
    spans the lowest to highest value over seeds. ``class_names[1]`` names the counted class.
    """
    if metric not in scores.columns:
        raise ValueError(f"Metric {metric!r} is not in the scores table (columns: {list(scores.columns)}).")
    models = list(dict.fromkeys(scores["model"]))
    slices = list(dict.fromkeys(scores["slice"]))
    sizes = scores[scores["model"] == models[0]].set_index("slice").loc[slices]
    values = scores.pivot(index="slice", columns="model", values=metric).reindex(index=slices, columns=models)
    low_column, high_column = interval_columns(metric)
    has_interval = low_column in scores.columns and high_column in scores.columns
    insufficient = set()
    if INSUFFICIENT in scores.columns:
        insufficient = set(scores.loc[scores[INSUFFICIENT].astype(bool), "slice"])
    spread = None
    if seed_spread is not None:
        spread = seed_spread[seed_spread["metric"] == metric].set_index(["model", "slice"])
        spread = spread if len(spread) else None

    width_in = min(16.0, max(8.0, 1.2 + len(slices) * (0.42 * len(models) + 0.35)))
    figure = _new_figure(width_in, 6.4)
    ax, ax_n = figure.subplots(2, 1, sharex=True, height_ratios=[3.2, 1.25])
    x = np.arange(len(slices), dtype=float)
    bar_width = 0.8 / len(models)
    faded = np.array([s in insufficient for s in slices], dtype=bool)
    extra_labels: dict[str, bool] = {}  # legend entries beyond the models, labelled once
    for i, model in enumerate(models):
        offsets = x + (i - (len(models) - 1) / 2) * bar_width
        heights = values[model].to_numpy(dtype=float)
        color = MODEL_COLORS[i % len(MODEL_COLORS)]
        bars = ax.bar(offsets, np.nan_to_num(heights, nan=0.0), bar_width * 0.92, color=color, label=model, zorder=2)
        for bar, fade in zip(bars, faded):
            if fade:
                bar.set_alpha(_FADED_ALPHA)
        tops = heights.copy()
        if has_interval:
            rows = scores[scores["model"] == model].set_index("slice").loc[slices]
            low = rows[low_column].to_numpy(dtype=float)
            high = rows[high_column].to_numpy(dtype=float)
            shown = ~(np.isnan(low) | np.isnan(high) | np.isnan(heights))
            # Drawn from low to high around their midpoint: a bootstrap interval need not contain the value.
            for part, alpha in ((shown & ~faded, 1.0), (shown & faded, _FADED_ALPHA)):
                if part.any():
                    ax.errorbar(
                        offsets[part], (low[part] + high[part]) / 2, yerr=(high[part] - low[part]) / 2,
                        fmt="none", ecolor=_TEXT, elinewidth=1.0, capsize=2.5, alpha=alpha, zorder=3,
                        label=None if extra_labels.get("interval") else "interval",
                    )
                    extra_labels["interval"] = True
            tops = np.where(shown, np.fmax(heights, high), heights)
        if spread is not None:
            keys = [(model, s) for s in slices]
            low = np.array([spread.loc[k, "min"] if k in spread.index else np.nan for k in keys], dtype=float)
            high = np.array([spread.loc[k, "max"] if k in spread.index else np.nan for k in keys], dtype=float)
            shown = ~(np.isnan(low) | np.isnan(high))
            if shown.any():
                whisker_x = offsets[shown] + (bar_width * 0.28 if has_interval else 0.0)
                ax.vlines(
                    whisker_x, low[shown], high[shown], colors=_SEED_COLOR, linewidth=2.2, zorder=4,
                    label=None if extra_labels.get("seeds") else "seed range",
                )
                extra_labels["seeds"] = True
                tops = np.where(shown, np.fmax(tops, high), tops)
        for xpos, height, top in zip(offsets, heights, tops):
            if math.isnan(height):
                ax.text(xpos, 0.015, "n/a", ha="center", va="bottom", fontsize=8, color=_MUTED, rotation=90)
            else:
                ax.text(xpos, top + 0.012, f"{height:.3f}", ha="center", va="bottom", fontsize=8, color=_TEXT)
    ax.set_ylim(0, 1.1)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel(f"{metric_label(metric)} on {split}", color=_TEXT, fontsize=11)
    ax.grid(axis="y", color="#E6E6E6", linewidth=0.8, zorder=0)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda k: (labels[k] not in models, labels[k] != "interval", k))  # models, interval, seeds
    handles, labels = [handles[k] for k in order], [labels[k] for k in order]
    if extra_labels:  # a longer legend gets its own line, between the title and the axes
        ax.set_title(f"{metric_label(metric)} per slice, by model", loc="left", fontsize=13, color=_TEXT, pad=30)
        ax.legend(
            handles, labels, ncols=len(handles), loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False,
            fontsize=10, columnspacing=1.2, handlelength=1.6, borderaxespad=0.2,
        )
    else:
        ax.set_title(f"{metric_label(metric)} per slice, by model", loc="left", fontsize=13, color=_TEXT, pad=10)
        ax.legend(handles, labels, ncols=len(handles), loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=10)
    _style(ax)

    counted = str(class_names[1]) if class_names is not None and len(class_names) > 1 else None
    n = sizes["n"].to_numpy(dtype=float)
    n_pos = sizes["n_positive"].to_numpy(dtype=float)
    ax_n.bar(x, n, 0.6, color="#D9D9D9", label="rows", zorder=2)
    ax_n.bar(x, n_pos, 0.6, color="#7F7F7F", label=f"{counted} rows" if counted else "positive rows", zorder=2)
    top = float(n.max()) if len(n) and n.max() > 0 else 1.0
    for xpos, total, positive in zip(x, n, n_pos):
        ax_n.text(
            xpos, total + top * 0.04, f"n={int(total)}, {int(positive)} {counted if counted else 'pos.'}",
            ha="center", va="bottom", fontsize=8.5, color=_TEXT,
        )
    ax_n.set_ylim(0, top * 1.4)
    ax_n.set_ylabel(f"rows ({split})", color=_TEXT, fontsize=11)
    ax_n.legend(loc="upper right", frameon=False, fontsize=8.5, ncols=2)
    _style(ax_n)
    ax_n.set_xticks(x, [f"{s}\n(insufficient)" if s in insufficient else s for s in slices])
    for label, fade in zip(ax_n.get_xticklabels(), faded):
        if fade:
            label.set_color(_MUTED)
    for axis in (ax, ax_n):
        if OVERALL in slices and len(slices) > 1:
            axis.axvline(slices.index(OVERALL) + 0.5, color="#BBBBBB", linewidth=1, linestyle="--", zorder=1)
    return _frozen(figure)


def plot_seed_spread(
    scores: pd.DataFrame, seed_spread: pd.DataFrame, metric: str = "f1", split: str = "test",
    *, colors: Mapping[str, str] | None = None,
) -> Figure:
    """Per slice and model, two marks side by side: the model's value of ``metric`` (circle) with
    its interval (black bar, where ``scores`` has ``<metric>_low``/``<metric>_high``), and the
    spread of that value over seeds (``seed_spread``: diamond at the mean, thick bar ± one
    standard deviation, thin line from the lowest to the highest seed). Slices flagged
    ``insufficient`` are faded; a value undefined on a slice is marked "n/a". ``colors`` maps a
    model to its colour (default: :data:`MODEL_COLORS` in order)."""
    if metric not in scores.columns:
        raise ValueError(f"Metric {metric!r} is not in the scores table (columns: {list(scores.columns)}).")
    models = list(dict.fromkeys(scores["model"]))
    slices = list(dict.fromkeys(scores["slice"]))
    sizes = scores[scores["model"] == models[0]].set_index("slice").loc[slices]
    indexed = scores.set_index(["model", "slice"])
    low_column, high_column = interval_columns(metric)
    has_interval = low_column in scores.columns and high_column in scores.columns
    insufficient = set(scores.loc[scores[INSUFFICIENT].astype(bool), "slice"]) if INSUFFICIENT in scores.columns else set()
    spread = seed_spread[seed_spread["metric"] == metric].set_index(["model", "slice"])
    palette = {m: dict(colors or {}).get(m, MODEL_COLORS[i % len(MODEL_COLORS)]) for i, m in enumerate(models)}

    def column(table: pd.DataFrame, model: str, name: str) -> np.ndarray:
        return np.array([table.loc[(model, s), name] if (model, s) in table.index else np.nan for s in slices], dtype=float)

    figure = _new_figure(min(16.0, max(8.0, 1.2 + len(slices) * (0.5 * len(models) + 0.35))), 5.0)
    ax = figure.subplots()
    x = np.arange(len(slices), dtype=float)
    slot = 0.8 / len(models)
    faded = np.array([s in insufficient for s in slices], dtype=bool)
    everything = []
    for i, model in enumerate(models):
        color = palette[model]
        center = x + (i - (len(models) - 1) / 2) * slot
        value_x, seed_x = center - slot * 0.2, center + slot * 0.2
        value = column(indexed, model, metric)
        low, high = (column(indexed, model, low_column), column(indexed, model, high_column)) if has_interval else (value, value)
        mean, std = column(spread, model, "mean"), column(spread, model, "std")
        smallest, largest = column(spread, model, "min"), column(spread, model, "max")
        everything += [value, low, high, smallest, largest, mean - std, mean + std]
        for part, alpha in ((~faded, 1.0), (faded, _FADED_ALPHA)):
            interval = part & ~(np.isnan(low) | np.isnan(high))
            if has_interval and interval.any():  # low to high: a bootstrap interval need not contain the value
                bars = ax.errorbar(
                    value_x[interval], (low[interval] + high[interval]) / 2, yerr=(high[interval] - low[interval]) / 2,
                    fmt="none", ecolor=_TEXT, elinewidth=1.2, capsize=3, alpha=alpha, zorder=3,
                )
                bars.lines[2][0].set_gid(f"interval:{model}")
            # Each mark carries a gid (kind:model): the tests read the figure back by it.
            shown = part & ~np.isnan(value)
            ax.scatter(value_x[shown], value[shown], s=42, marker="o", color=color, edgecolors=_TEXT,
                       linewidths=0.8, alpha=alpha, zorder=4, gid=f"value:{model}")
            ranged = part & ~(np.isnan(smallest) | np.isnan(largest))
            ax.vlines(seed_x[ranged], smallest[ranged], largest[ranged], colors=color, linewidth=1.3, alpha=alpha,
                      zorder=3, gid=f"seed-range:{model}")
            spread_sd = part & ~(np.isnan(mean) | np.isnan(std))
            ax.vlines(seed_x[spread_sd], (mean - std)[spread_sd], (mean + std)[spread_sd], colors=color,
                      linewidth=6, alpha=0.45 * alpha, zorder=3, gid=f"seed-sd:{model}")
            centred = part & ~np.isnan(mean)
            ax.scatter(seed_x[centred], mean[centred], s=34, marker="D", color="white", edgecolors=color,
                       linewidths=1.6, alpha=alpha, zorder=5, gid=f"seed-mean:{model}")
        for xpos, undefined in zip(value_x, np.isnan(value)):
            if undefined:
                ax.text(xpos, 0.015, "n/a", ha="center", va="bottom", fontsize=8, color=_MUTED, rotation=90)
    values = np.concatenate(everything)
    values = values[~np.isnan(values)]
    bottom = min(0.0, float(values.min())) if values.size else 0.0
    top = max(1.0, float(values.max())) if values.size else 1.0
    ax.set_ylim(bottom - 0.03, top + 0.05)
    ax.set_ylabel(f"{metric_label(metric)} on {split}", color=_TEXT, fontsize=11)
    ax.grid(axis="y", color="#E6E6E6", linewidth=0.8, zorder=0)
    ax.set_xticks(
        x, [f"{s}\nn={int(n)}" + ("\n(insufficient)" if s in insufficient else "") for s, n in zip(slices, sizes["n"])]
    )
    for label, fade in zip(ax.get_xticklabels(), faded):
        if fade:
            label.set_color(_MUTED)
    if OVERALL in slices and len(slices) > 1:
        ax.axvline(slices.index(OVERALL) + 0.5, color="#BBBBBB", linewidth=1, linestyle="--", zorder=1)
    # Models beside the title, what each mark means below the axes (constrained layout makes room).
    ax.set_title(f"{metric_label(metric)} per slice: interval and spread over seeds", loc="left", fontsize=13,
                 color=_TEXT, pad=10)
    ax.legend(handles=[Patch(color=palette[m], label=m) for m in models],
              ncols=len(models), loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=10)
    marks = [
        Line2D([], [], color=_TEXT, marker="o", markerfacecolor="#BBBBBB", linewidth=1.2,
               label=f"{split} value" + (" with its interval" if has_interval else "")),
        Line2D([], [], color="#777777", marker="D", markerfacecolor="white", linewidth=4,
               label="over seeds: mean, ± sd (thick), lowest to highest (thin)"),
    ]
    figure.legend(handles=marks, loc="outside lower left", ncols=2, frameon=False, fontsize=10, handlelength=2.2)
    _style(ax)
    return _frozen(figure)


def plot_slice_coverage(coverage: pd.DataFrame) -> Figure:
    """Horizontal grouped bars: the fraction of each split's rows in each slice.

    ``coverage`` is :func:`~slicekit.reporting.tables.slice_coverage`'s table; bars are
    labelled with the percentage and the row count.
    """
    slices = list(dict.fromkeys(coverage["slice"]))
    splits = list(dict.fromkeys(coverage["split"]))
    table = coverage.set_index(["slice", "split"])
    figure = _new_figure(10.0, 1.2 + 0.24 * len(slices) * len(splits) + 0.3 * len(slices))
    ax = figure.subplots()
    y = np.arange(len(slices), dtype=float)
    bar_height = 0.8 / len(splits)
    largest = float(coverage["fraction"].max()) if len(coverage) else 1.0
    largest = largest if largest > 0 and not math.isnan(largest) else 1.0
    for i, split in enumerate(splits):
        offsets = y + (i - (len(splits) - 1) / 2) * bar_height
        fractions = np.array([table.loc[(s, split), "fraction"] for s in slices], dtype=float)
        counts = [int(table.loc[(s, split), "n_in_slice"]) for s in slices]
        totals = [int(table.loc[(s, split), "n_rows"]) for s in slices]
        ax.barh(
            offsets, np.nan_to_num(fractions), bar_height * 0.9,
            color=SPLIT_COLORS[i % len(SPLIT_COLORS)], label=f"{split} ({totals[0]} rows)", zorder=2,
        )
        for ypos, fraction, count in zip(offsets, fractions, counts):
            ax.text(
                (0 if math.isnan(fraction) else fraction) + largest * 0.01, ypos,
                f"{fraction:.1%} ({count})" if not math.isnan(fraction) else "n/a",
                va="center", ha="left", fontsize=8.5, color=_TEXT,
            )
    ax.set_yticks(y, slices)
    ax.invert_yaxis()
    ax.set_xlim(0, largest * 1.2)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("share of the split's rows in the slice", color=_TEXT, fontsize=11)
    ax.grid(axis="x", color="#E6E6E6", linewidth=0.8, zorder=0)
    ax.set_title("Slice coverage, by split", loc="left", fontsize=13, color=_TEXT, pad=10)
    ax.legend(loc="upper right", frameon=False, fontsize=9.5)
    if ANY_SLICE in slices and len(slices) > 1:
        ax.axhline(slices.index(ANY_SLICE) - 0.5, color="#BBBBBB", linewidth=1, linestyle="--", zorder=1)
    _style(ax)
    return _frozen(figure)


def plot_slice_overlap(overlap: pd.DataFrame, split: str = "train") -> Figure:
    """Heatmap of pairwise Jaccard similarity between slices, each cell also giving the
    number of rows in both; the diagonal (grey) gives each slice's size.

    ``overlap`` is :func:`~slicekit.reporting.tables.slice_overlap`'s table.
    """
    jaccard = overlap_matrix(overlap, "jaccard")
    both = overlap_matrix(overlap, "n_both")
    names = list(jaccard.index)
    k = len(names)
    values = jaccard.to_numpy(dtype=float).copy()
    off_diagonal = ~np.eye(k, dtype=bool)
    values[~off_diagonal] = np.nan
    shown = values[off_diagonal & ~np.isnan(values)]
    vmax = max(float(shown.max()) if shown.size else 0.0, 0.1)
    cmap = LinearSegmentedColormap.from_list("overlap", ["#F7FBFF", "#6BAED6", "#08306B"]).with_extremes(
        bad="#EEEEEE"
    )

    side = max(5.5, 0.95 * k + 2.5)
    figure = _new_figure(side + 1.2, side)
    ax = figure.subplots()
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.0, vmax=vmax, aspect="equal")
    for i in range(k):
        for j in range(k):
            count = int(both.iat[i, j])
            if i == j:
                label, color = f"n={count}", _TEXT
            elif count == 0 or math.isnan(values[i, j]):
                label, color = "0", _MUTED
            else:
                label = f"{values[i, j]:.3f}\n({count})"
                color = "white" if values[i, j] > 0.55 * vmax else _TEXT
            ax.text(j, i, label, ha="center", va="center", fontsize=9, color=color)
    ax.set_xticks(np.arange(k), names, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_yticks(np.arange(k), names)
    ax.tick_params(length=0, labelsize=10, colors=_TEXT)
    ax.set_xticks(np.arange(k + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(k + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(
        f"Slice overlap on {split}: Jaccard similarity (rows in both)", loc="left", fontsize=13, color=_TEXT, pad=10
    )
    colorbar = figure.colorbar(image, ax=ax, shrink=0.75)
    colorbar.set_label("Jaccard similarity", color=_TEXT)
    colorbar.outline.set_visible(False)
    return _frozen(figure)


def plot_all(
    scores: pd.DataFrame, coverage: pd.DataFrame, overlap: pd.DataFrame, metric: str = "f1",
    overlap_split: str = "train", score_split: str = "test", *,
    seed_spread: pd.DataFrame | None = None, class_names: Sequence[str] | None = None,
) -> dict[str, Figure]:
    """The report's three figures, keyed ``slice_metric``, ``slice_coverage``, ``slice_overlap``."""
    return {
        "slice_metric": plot_slice_metric(
            scores, metric, split=score_split, seed_spread=seed_spread, class_names=class_names
        ),
        "slice_coverage": plot_slice_coverage(coverage),
        "slice_overlap": plot_slice_overlap(overlap, split=overlap_split),
    }

