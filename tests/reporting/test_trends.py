"""slicekit.reporting.trends: per-slice trends over runs, the flag, the figure, and the report section."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from report_inputs import model_tables_example, slice_matrices_example
from slicekit.reporting import build_slice_report, combine_slice_scores, figure_to_png, slice_coverage, slice_overlap
from slicekit.reporting.trends import (
    batch_trends,
    CURRENT_LABEL,
    POSITIVE_RATE,
    TREND_COLUMNS,
    plot_trends,
    positive_rate,
    slice_trends,
    table_rows,
    trend_summary,
)
from slicekit.slicing import slice_scores_table
from slicekit.slicing.apply import to_recarray

NAMES = ["wide", "rare", "no_positives", "never_predicted"]


def scored(seed: int, flip: float = 0.2, rows: int = 300):
    """A per-slice test table of random predictions, and the true predicted-positive rate per slice.

    ``no_positives`` holds only class-0 rows (recall undefined); ``never_predicted`` only rows
    predicted 0 (precision undefined)."""
    rng = np.random.default_rng(seed)
    golds = rng.integers(0, 2, rows)
    preds = np.where(rng.random(rows) < flip, 1 - golds, golds)
    members = np.column_stack([
        rng.random(rows) < 0.5,
        rng.random(rows) < 0.05,
        (golds == 0) & (rng.random(rows) < 0.3),
        (preds == 0) & (rng.random(rows) < 0.3),
    ]).astype(int)
    S = to_recarray(members, NAMES)
    probs = np.column_stack([1 - 0.9 * preds, 0.9 * preds])
    table = slice_scores_table(S, golds, preds, probs, metrics=["accuracy", "precision", "recall", "f1"])
    rates = {"overall": preds.mean(), **{name: preds[members[:, i] == 1].mean() for i, name in enumerate(NAMES)}}
    return table, rates


def history_of(tables: list[pd.DataFrame], model: str = "slice_aware", start: str = "2026-11-01") -> pd.DataFrame:
    """Past runs as the MLflow history holds them: one run per table, a day apart."""
    frames = []
    for k, table in enumerate(tables):
        rows = table_rows(table, source="test", model=model)
        frames.append(rows.assign(run_id=f"run{k}", start_time=pd.Timestamp(start, tz="UTC") + pd.Timedelta(days=k)))
    return pd.concat(frames, ignore_index=True)


def test_the_positive_rate_follows_exactly_from_the_logged_confusion_counts():
    for seed in range(5):
        table, rates = scored(seed)
        wide = table.set_index("slice")
        assert np.isnan(wide.loc["no_positives", "recall"]) and np.isnan(wide.loc["never_predicted", "precision"])
        derived = positive_rate(wide)
        for name, rate in rates.items():
            assert derived[name] == pytest.approx(rate, abs=1e-12), (seed, name)


def test_a_logged_rate_is_used_as_is_and_a_table_without_accuracy_gives_nan():
    wide = pd.DataFrame({"n": [10], "share": [1.0], POSITIVE_RATE: [0.37]}, index=["overall"])
    assert positive_rate(wide).tolist() == [0.37]
    # multi-class tables (accuracy, f1_macro, ...) have no recall: n_positive alone says nothing of the rate
    multi = pd.DataFrame({"n": [10, 4], "n_positive": [3, 0], "accuracy": [0.8, 0.5], "f1_macro": [0.5, 0.4]},
                         index=["overall", "no_class_1"])
    assert positive_rate(multi).isna().all()


def test_trends_put_the_history_oldest_first_then_this_run():
    tables = [scored(seed)[0] for seed in range(4)]
    history = history_of(tables[:3])
    # noise the trends must ignore: another model, another split
    noise = table_rows(tables[0], source="test", model="baseline").assign(run_id="run1", start_time=history["start_time"].iloc[0])
    valid = table_rows(tables[1], source="valid", model="slice_aware").assign(run_id="run9", start_time=history["start_time"].max())
    current = table_rows(tables[3], source="test", model="slice_aware")
    trends = slice_trends(pd.concat([history, noise, valid]), current, metric="f1", model="slice_aware")

    assert tuple(trends.columns) == TREND_COLUMNS
    assert sorted(trends["point"].unique()) == [1, 2, 3, 4]
    labels = trends.drop_duplicates("point").set_index("point")["label"]
    assert labels.to_dict() == {1: "1: 2026-11-01 00:00", 2: "2: 2026-11-02 00:00", 3: "3: 2026-11-03 00:00", 4: CURRENT_LABEL}
    assert set(trends.loc[trends["point"] == 4, "run_id"]) == {""}
    assert list(dict.fromkeys(trends["slice"])) == ["overall", *NAMES]
    for point, table in enumerate(tables, start=1):
        f1 = trends[(trends["point"] == point) & (trends["metric"] == "f1")].set_index("slice")["value"]
        pd.testing.assert_series_equal(f1, table.set_index("slice")["f1"].astype(float), check_names=False)
        rate = trends[(trends["point"] == point) & (trends["metric"] == POSITIVE_RATE)].set_index("slice")["value"]
        assert rate.to_dict() == pytest.approx(scored(point - 1)[1])


def test_last_runs_counts_this_run_and_drops_the_oldest():
    tables = [scored(seed)[0] for seed in range(6)]
    current = table_rows(tables[5], source="test", model="slice_aware")
    trends = slice_trends(history_of(tables[:5]), current, model="slice_aware", last_runs=3)
    assert trends.drop_duplicates("point")["label"].tolist() == ["1: 2026-11-04 00:00", "2: 2026-11-05 00:00", CURRENT_LABEL]
    only_now = slice_trends(history_of(tables[:5]), current, model="slice_aware", last_runs=1)
    assert only_now["label"].unique().tolist() == [CURRENT_LABEL]
    no_current = slice_trends(history_of(tables[:5]), None, model="slice_aware", last_runs=2)
    assert no_current["run_id"].unique().tolist() == ["run3", "run4"]
    with pytest.raises(ValueError, match="last_runs"):
        slice_trends(history_of(tables[:1]), current, last_runs=0)


def test_an_empty_history_gives_this_run_alone_and_a_malformed_one_is_refused():
    table, _ = scored(0)
    empty = pd.DataFrame(columns=["run_id", "start_time", "source", "model", "slice", "metric", "value"])
    trends = slice_trends(empty, table_rows(table, source="test", model="m"), model="m")
    assert trends["point"].unique().tolist() == [1]
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['start_time'\]"):
        slice_trends(empty.drop(columns="start_time"), None)


def _trend(rates: list[float], slice_name: str = "overall", first: int = 1) -> pd.DataFrame:
    rows = []
    for point, rate in enumerate(rates, start=first):
        rows.append({"point": point, "label": str(point), "run_id": str(point), "slice": slice_name, "metric": "f1", "value": 0.5})
        rows.append({"point": point, "label": str(point), "run_id": str(point), "slice": slice_name, "metric": POSITIVE_RATE, "value": rate})
    return pd.DataFrame(rows)


def test_a_slice_is_flagged_when_its_rate_leaves_the_median_of_the_earlier_runs():
    trends = pd.concat([_trend([0.30, 0.31, 0.90, 0.32, 0.45], "moved"), _trend([0.30, 0.31, 0.90, 0.32, 0.35], "steady"),
                        _trend([0.7], "new", first=5)])
    summary = trend_summary(trends, threshold=0.1).set_index("slice")
    assert summary.loc["moved", "rate_previous_median"] == pytest.approx(0.315)  # the 0.90 outlier does not move a median
    assert summary.loc["moved", "rate_change"] == pytest.approx(0.135)
    assert summary.loc["moved", "flagged"] and not summary.loc["steady", "flagged"]
    # a slice seen only now has nothing to compare with: NaN change, never flagged
    assert np.isnan(summary.loc["new", "rate_change"]) and not summary.loc["new", "flagged"]
    assert summary.loc["new", "n_previous"] == 0 and summary.loc["moved", "n_previous"] == 4
    assert not trend_summary(trends, threshold=None)["flagged"].any()


def test_the_figure_draws_a_line_per_slice_in_each_panel_and_is_byte_stable():
    tables = [scored(seed)[0] for seed in range(3)]
    trends = slice_trends(history_of(tables[:2]), table_rows(tables[2], source="test", model="slice_aware"), model="slice_aware")
    figure = plot_trends(trends, metric="f1", metric_name="F1")
    top, bottom = figure.axes[:2]
    assert [line.get_label() for line in top.get_lines()] == ["overall", *NAMES]
    assert len(bottom.get_lines()) == 1 + len(NAMES)
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["1: 2026-11-01 00:00", "2: 2026-11-02 00:00", CURRENT_LABEL]
    overall = bottom.get_lines()[0]
    assert list(overall.get_ydata()) == pytest.approx([scored(s)[1]["overall"] for s in range(3)])
    again = plot_trends(trends, metric="f1", metric_name="F1")
    assert figure_to_png(figure) == figure_to_png(again)


def test_the_report_shows_the_trends_section_only_when_given():
    tables = model_tables_example()
    scores = combine_slice_scores(tables)
    S = slice_matrices_example()
    coverage, overlap = slice_coverage(S), slice_overlap(S["train"])
    plain = build_slice_report(scores, coverage, overlap)
    assert 'id="trends"' not in plain.html and "slice_trends" not in plain.images

    past = [t.assign(f1=t["f1"] - 0.1 * k) for k, t in enumerate([tables["Slice-aware"]] * 2)]
    trends = slice_trends(history_of(past), table_rows(tables["Slice-aware"], source="test", model="slice_aware"),
                          model="slice_aware")
    report = build_slice_report(scores, coverage, overlap, trends=trends, trends_model="Slice-aware")
    assert "slice_trends" in report.images
    section = report.html.split('id="trends"')[1].split("<h2")[0]
    assert "Trends over the last 3 runs" in report.html and "Slice-aware&#39;s F1" in section
    first_row = re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)[1]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", first_row)]
    # overall: F1 now 0.81; before: median of 0.81 and 0.71; rate unchanged: not flagged
    assert cells[:4] == ["overall", "0.810", "0.760", "0.500"] and cells[-1] == ""
    assert "![F1 and predicted-positive rate per slice over the last runs](slice_trends.png)" in report.markdown


def test_batches_trend_by_their_share_and_logged_rate():
    """The inference batches' trend: each slice's share of the batch and predicted-positive rate,
    as the run history holds ``batch_slice_summary`` (source batch, model champion)."""
    def summary(shift: float) -> pd.DataFrame:
        return pd.DataFrame({"slice": ["overall", "rare"], "n": [1000, 50], "share": [1.0, 0.05 + shift],
                             "n_predicted_positive": [300, 10], "predicted_positive_rate": [0.3, 0.2 + shift]})

    history = pd.concat(
        [table_rows(summary(0.01 * k), source="batch", model="champion").assign(
            run_id=f"b{k}", start_time=pd.Timestamp("2026-11-01", tz="UTC") + pd.Timedelta(hours=k)) for k in range(3)],
        ignore_index=True,
    )
    current = table_rows(summary(0.3), source="batch", model="champion")
    trends = slice_trends(history, current, metric="share", source="batch", model="champion")
    rare = trends[trends["slice"] == "rare"].pivot(index="point", columns="metric", values="value")
    assert rare["share"].tolist() == pytest.approx([0.05, 0.06, 0.07, 0.35])
    assert rare[POSITIVE_RATE].tolist() == pytest.approx([0.2, 0.21, 0.22, 0.5])
    flagged = trend_summary(trends, metric="share", threshold=0.1).set_index("slice")["flagged"]
    assert flagged.to_dict() == {"overall": False, "rare": True}
    table, figure = batch_trends(history, summary(0.3), last_runs=3)
    assert table.drop_duplicates("point")["label"].tolist() == ["1: 2026-11-01 01:00", "2: 2026-11-01 02:00", "this batch"]
    assert figure.axes[0].get_ylabel() == "share of the batch"
