"""The multi-seed page (``build_seed_report``): per slice and model, the value with its interval
beside the seed mean, sd, min and max, in both documents and in the figure (read from the Axes)."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest

from slicekit.reporting import (
    SEED_REPORT_IMAGE_FILES,
    build_seed_report,
    combine_slice_scores,
    figure_to_png,
    plot_seed_spread,
)

from report_inputs import SLICES, model_tables_example, scores_with_intervals, seed_spread_example
from test_report_content import html_tables

MODELS = ["Oversampled", "Slice-aware"]
HEADER = ["slice", "n", "n spam", "model", "test F1 [interval]", "seed mean", "sd", "min", "max", "seeds"]


def _scores(with_intervals: bool = True) -> pd.DataFrame:
    tables = scores_with_intervals() if with_intervals else model_tables_example()
    return combine_slice_scores({m: tables[m] for m in MODELS})


def _build(scores=None, spread=None, **options):
    return build_seed_report(
        _scores() if scores is None else scores, seed_spread_example() if spread is None else spread,
        title="Seeds", class_names=["ham", "spam"], **options,
    )


@pytest.fixture(scope="module")
def page():
    return _build(paragraphs=["Seeds: 1, 2, 3 (experiment.seeds)."])


def _fmt(value: float) -> str:
    return "–" if np.isnan(value) else f"{value:.3f}"


def _expected_rows(scores: pd.DataFrame, spread: pd.DataFrame) -> list[list[str]]:
    """The first table as the inputs say it should read (rowspan cells blank, as html_tables fills them)."""
    indexed, spread = scores.set_index(["slice", "model"]), spread[spread["metric"] == "f1"].set_index(["slice", "model"])
    rows = []
    for slice_name in SLICES:
        for position, model in enumerate(MODELS):
            row = indexed.loc[(slice_name, model)]
            value = _fmt(row["f1"])
            if value != "–":
                value += f" [{_fmt(row['f1_low'])}, {_fmt(row['f1_high'])}]"
            sizes = [slice_name, str(int(row["n"])), str(int(row["n_positive"]))] if position == 0 else ["", "", ""]
            if (slice_name, model) in spread.index:
                entry = spread.loc[(slice_name, model)]
                seeds = [_fmt(entry["mean"]), _fmt(entry["std"]), _fmt(entry["min"]), _fmt(entry["max"]), str(entry["n_seeds"])]
            else:
                seeds = ["–"] * 5
            rows.append([*sizes, model, value, *seeds])
    return rows


def test_each_value_and_interval_sits_beside_its_spread_over_seeds(page):
    table = html_tables(page.html)[0]
    assert table[0] == HEADER
    assert table[1:] == _expected_rows(_scores(), seed_spread_example())
    # One row read by hand: short, Slice-aware: F1 0.75 ± 0.1; seeds 0.72 ± 0.04 over [0.667, 0.75].
    assert table[4] == ["", "", "", "Slice-aware", "0.750 [0.650, 0.850]", "0.720", "0.040", "0.667", "0.750", "3"]


def test_the_markdown_holds_the_same_rows_and_links_the_figure(page):
    section = page.markdown.split("## F1 per slice")[1].split("## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert cells[0] == HEADER
    assert cells[2:] == _expected_rows(_scores(), seed_spread_example())
    assert f"]({SEED_REPORT_IMAGE_FILES['seed_spread']})" in section


def test_the_html_page_embeds_the_figure_it_returns(page):
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page.html)
    assert [base64.b64decode(e) for e in embedded] == [page.images["seed_spread"]]
    assert page.images["seed_spread"] == figure_to_png(page.figures["seed_spread"])


def test_every_metric_table_puts_the_value_beside_the_spread(page):
    table = html_tables(page.html)[1]
    assert table[0] == ["slice", "metric", "model", "test [interval]", "seed mean", "sd", "min", "max", "seeds"]
    assert len(table) - 1 == len(seed_spread_example())
    assert table[1] == ["overall", "F1", "Oversampled", "0.820 [0.720, 0.920]", "0.815", "0.004", "0.810", "0.820", "3"]


def test_the_introduction_says_what_each_uncertainty_is(page):
    assert "2 models on the test split (10 rows, 3 slices plus overall), each trained again with 3 seeds." in page.html
    assert "resampling the test rows" in page.html and "other initial weights and batch orders" in page.html
    assert "Seeds: 1, 2, 3 (experiment.seeds)." in page.html and "Seeds: 1, 2, 3 (experiment.seeds)." in page.markdown


def test_insufficient_slices_are_greyed_with_their_reason(page):
    section = page.html.split('id="spread-vs-interval"')[1].split("<h2")[0]
    greyed = re.findall(r'<tr class="[^"]*greyed[^"]*">', section)
    assert len(greyed) == 2 * len(MODELS)  # please and empty, each model
    assert "Greyed, insufficient: please (3 rows &lt; min_support 5)." in section
    assert "Greyed, insufficient: empty (no rows)." in section


def test_without_intervals_the_values_stand_alone():
    report = _build(scores=_scores(with_intervals=False))
    table = html_tables(report.html)[0]
    assert table[0][4] == "test F1" and table[1][4] == "0.820"
    assert "resampling" not in report.html
    ax = report.figures["seed_spread"].axes[0]
    assert not _marks(ax, "interval")


def test_tables_that_do_not_match_are_refused():
    keys = seed_spread_example().replace({"model": {"Slice-aware": "slice_aware"}})
    with pytest.raises(ValueError, match=r"seed_spread table does not match.*'model' has \['slice_aware'\]"):
        _build(spread=keys)
    repeated = pd.concat([seed_spread_example(), seed_spread_example().head(1)], ignore_index=True)
    with pytest.raises(ValueError, match=r"repeat a \(model, slice, metric\).*'Oversampled'.*row\(s\) \[0, 4\]"):
        _build(spread=repeated)
    with pytest.raises(ValueError, match=r"Metric 'mcc' is not in the scores table"):
        _build(metric="mcc")


def test_colours_follow_the_caller(page):
    colors = {"Oversampled": "#123456", "Slice-aware": "#abcdef"}
    report = _build(colors=colors)
    assert 'style="background:#123456"' in report.html and 'style="background:#abcdef"' in report.html
    ax = report.figures["seed_spread"].axes[0]
    for model, color in colors.items():
        (mean,) = [c for c in _marks(ax, "seed-mean", model) if len(c.get_offsets())]
        assert mean.get_edgecolor()[0][:3] == pytest.approx([int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)])


# --------------------------------------------------------------------------------------
# The figure, read from its Axes


def _marks(ax, kind: str, model: str | None = None) -> list:
    """The artists of one kind of mark (and one model), by the gid ``kind:model`` the plot gives them."""
    return [
        a for a in [*ax.collections, *ax.lines]
        if (a.get_gid() or "").startswith(f"{kind}:") and (model is None or a.get_gid() == f"{kind}:{model}")
    ]


def _spans(artists) -> list[tuple[float, float, float]]:
    """(x, low, high) of every vertical segment, sorted."""
    return sorted(
        (round(a[0], 6), round(min(a[1], b[1]), 6), round(max(a[1], b[1]), 6))
        for artist in artists for a, b in artist.get_segments()
    )


def _points(artists) -> list[tuple[float, float]]:
    return sorted((round(x, 6), round(y, 6)) for artist in artists for x, y in artist.get_offsets())


def test_the_figure_draws_each_interval_beside_each_seed_spread(page):
    ax = page.figures["seed_spread"].axes[0]
    scores, spread = _scores().set_index(["model", "slice"]), seed_spread_example().set_index(["model", "slice"])
    for model in MODELS:
        values = _points(_marks(ax, "value", model))
        intervals = _spans(_marks(ax, "interval", model))
        defined = [s for s in SLICES if not np.isnan(scores.loc[(model, s), "f1"])]  # empty has no value
        assert [y for _, y in values] == [round(scores.loc[(model, s), "f1"], 6) for s in defined]
        assert [(lo, hi) for _, lo, hi in intervals] == [
            (round(scores.loc[(model, s), "f1_low"], 6), round(scores.loc[(model, s), "f1_high"], 6)) for s in defined
        ]
        assert [x for x, _ in values] == [x for x, _, _ in intervals]  # the bar goes through its circle
        seeded = [s for s in SLICES if (model, s) in spread.index]
        ranges = _spans(_marks(ax, "seed-range", model))
        sds = _spans(_marks(ax, "seed-sd", model))
        means = _points(_marks(ax, "seed-mean", model))
        assert [(lo, hi) for _, lo, hi in ranges] == [
            (round(spread.loc[(model, s), "min"], 6), round(spread.loc[(model, s), "max"], 6)) for s in seeded
        ]
        assert [(lo, hi) for _, lo, hi in sds] == [
            (round(spread.loc[(model, s), "mean"] - spread.loc[(model, s), "std"], 6),
             round(spread.loc[(model, s), "mean"] + spread.loc[(model, s), "std"], 6)) for s in seeded
        ]
        assert [y for _, y in means] == [round(spread.loc[(model, s), "mean"], 6) for s in seeded]
        # The spread sits to the right of the value on the same slice, not on top of it.
        value_x = dict(zip(defined, (x for x, _ in values)))
        for s, (x, _) in zip(seeded, means):
            assert 0 < x - value_x[s] < 0.5
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["overall\nn=10", "short\nn=4", "please\nn=3\n(insufficient)", "empty\nn=0\n(insufficient)"]
    legend = [t.get_text() for legend in page.figures["seed_spread"].legends for t in legend.get_texts()]
    assert legend == ["test value with its interval", "over seeds: mean, ± sd (thick), lowest to highest (thin)"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == MODELS


def test_insufficient_slices_are_faded_in_the_figure(page):
    ax = page.figures["seed_spread"].axes[0]
    please = SLICES.index("please")
    for artist in _marks(ax, "value"):
        for (x, _), alpha in zip(artist.get_offsets(), [artist.get_alpha()] * len(artist.get_offsets())):
            faded = round(x) == please
            assert (alpha is not None and alpha < 0.5) is faded


def test_the_page_is_byte_identical_when_built_again(page):
    again = _build(paragraphs=["Seeds: 1, 2, 3 (experiment.seeds)."])
    assert (again.html, again.markdown, again.images) == (page.html, page.markdown, page.images)
    spread = seed_spread_example()
    assert figure_to_png(plot_seed_spread(_scores(), spread)) == figure_to_png(plot_seed_spread(_scores(), spread))
