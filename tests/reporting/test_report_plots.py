"""The metric figure with the uncertainty inputs: error bars from the intervals, insufficient
slices faded, seed ranges as whiskers, the counted class named. Read from the Axes, not pixels."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.container import ErrorbarContainer

from slicekit.reporting import combine_slice_scores, figure_to_png, plot_slice_metric

from report_inputs import SLICES, model_tables_example, scores_with_intervals, seed_spread_example

MODELS = ["Baseline", "Oversampled", "Slice-aware"]


def _errorbar_spans(ax) -> list[tuple[float, float, float]]:
    """(x, low, high) of every error bar drawn, sorted by x."""
    spans = []
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            (bars,) = container.lines[2]
            for segment in bars.get_segments():
                (x0, y0), (x1, y1) = segment
                assert x0 == pytest.approx(x1)
                spans.append((round(x0, 6), round(min(y0, y1), 6), round(max(y0, y1), 6)))
    return sorted(spans)


def _bar_x(ax, model_index: int, slice_index: int) -> float:
    bar = ax.patches[model_index * len(SLICES) + slice_index]
    return round(bar.get_x() + bar.get_width() / 2, 6)


def test_error_bars_span_each_interval_where_one_is_given():
    scores = combine_slice_scores(scores_with_intervals())
    ax = plot_slice_metric(scores, "f1").axes[0]
    expected = []
    for m, model in enumerate(MODELS):
        rows = scores[scores["model"] == model].set_index("slice")
        for s, slice_name in enumerate(SLICES):
            low, high = rows.loc[slice_name, "f1_low"], rows.loc[slice_name, "f1_high"]
            if not np.isnan(low):  # empty: no value, no interval, no error bar
                expected.append((_bar_x(ax, m, s), round(low, 6), round(high, 6)))
    assert _errorbar_spans(ax) == sorted(expected)
    assert len(expected) == 3 * 3
    assert "interval" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_no_error_bars_without_intervals():
    ax = plot_slice_metric(combine_slice_scores(model_tables_example()), "f1").axes[0]
    assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == MODELS


def test_insufficient_slices_are_faded_and_named_so():
    ax_scores, ax_sizes = plot_slice_metric(combine_slice_scores(scores_with_intervals()), "f1").axes[:2]
    faded = {"please", "empty"}
    for m in range(len(MODELS)):
        for s, slice_name in enumerate(SLICES):
            alpha = ax_scores.patches[m * len(SLICES) + s].get_alpha()
            assert (alpha is not None and alpha < 0.5) is (slice_name in faded), (MODELS[m], slice_name)
    labels = [t.get_text() for t in ax_sizes.get_xticklabels()]
    assert labels == ["overall", "short", "please\n(insufficient)", "empty\n(insufficient)"]
    faded_bars = [c for c in ax_scores.containers if isinstance(c, ErrorbarContainer) and c.lines[2][0].get_alpha()]
    assert faded_bars, "the error bars of an insufficient slice are faded too"


def test_seed_ranges_are_whiskers_from_lowest_to_highest():
    scores = combine_slice_scores(scores_with_intervals())
    spread = seed_spread_example()
    ax = plot_slice_metric(scores, "f1", seed_spread=spread).axes[0]
    error_bars = {id(c.lines[2][0]) for c in ax.containers if isinstance(c, ErrorbarContainer)}
    whiskers = [c for c in ax.collections if isinstance(c, LineCollection) and id(c) not in error_bars]
    drawn = sorted(
        (min(a[1], b[1]), max(a[1], b[1]), a[0])
        for c in whiskers for a, b in c.get_segments()
    )
    models = {"Oversampled": 1, "Slice-aware": 2}
    bar_width = ax.patches[0].get_width() / 0.92
    expected = sorted(
        (row["min"], row["max"], _bar_x(ax, models[row["model"]], SLICES.index(row["slice"])) + bar_width * 0.28)
        for _, row in spread.iterrows()
    )
    assert np.allclose(drawn, expected, atol=1e-5)  # beside the model's bar on the slice, from lowest to highest
    assert "seed range" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_class_names_label_the_size_panel():
    figure = plot_slice_metric(combine_slice_scores(model_tables_example()), "f1", class_names=["ham", "spam"])
    ax_sizes = figure.axes[1]
    assert [t.get_text() for t in ax_sizes.get_legend().get_texts()] == ["rows", "spam rows"]
    assert "n=4, 1 spam" in [t.get_text() for t in ax_sizes.texts]


def test_uncertainty_figure_is_byte_identical_when_drawn_again():
    scores = combine_slice_scores(scores_with_intervals())
    first = figure_to_png(plot_slice_metric(scores, "f1", seed_spread=seed_spread_example()))
    assert figure_to_png(plot_slice_metric(scores, "f1", seed_spread=seed_spread_example())) == first
