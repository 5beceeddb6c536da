"""What a slice report says, independent of its format.

:func:`report_content` turns the report's tables into one context of plain values
(paragraphs, :class:`Table` objects of formatted :class:`Cell` objects, flags for bold and
greyed) that both templates, HTML and Markdown, render: the two documents cannot disagree
on a number because neither formats one. Nothing here writes markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pandas as pd

from slicekit.reporting.plots import MODEL_COLORS, metric_label
from slicekit.reporting.trends import TREND_COLUMNS, trend_summary
from slicekit.reporting.tables import (
    ANY_SLICE,
    INSUFFICIENT,
    INSUFFICIENT_REASON,
    OVERALL,
    interval_columns,
    metric_columns,
    overlap_matrix,
)

#: Shown where a value is undefined (e.g. ROC AUC on a one-class slice).
MISSING = "–"

#: The verdicts of a paired comparison (``slice_comparisons``' ``verdict`` column), about
#: ``model_a`` against ``model_b``.
BETTER, WORSE, NO_DIFFERENCE, INSUFFICIENT_VERDICT = "better", "worse", "no detectable difference", "insufficient"
VERDICTS = (BETTER, WORSE, NO_DIFFERENCE, INSUFFICIENT_VERDICT)

#: Columns each optional table must have (extra columns are ignored).
COMPARISON_COLUMNS = (
    "slice", "metric", "model_a", "model_b", "difference", "low", "high", "p_value", "p_adjusted", "verdict",
)
SEED_SPREAD_COLUMNS = ("model", "slice", "metric", "mean", "std", "min", "max", "n_seeds")
DISCOVERY_COLUMNS = ("rank", "predicate", "n", "error_rate", "lift", "low", "high", "p_adjusted", "slicing_function")


@dataclass(frozen=True)
class Cell:
    """One table cell, already formatted.

    ``kind``: ``name`` (text, left-aligned), ``num`` (right-aligned) or ``code``.
    ``note``: a secondary text after the value (an interval). ``covered``: the cell lies
    under the ``rowspan`` of the one above (HTML leaves it out, Markdown leaves it blank).
    ``tone``: a verdict, for colouring.
    """

    text: str
    kind: str = "num"
    note: str = ""
    bold: bool = False
    missing: bool = False
    rowspan: int = 1
    covered: bool = False
    tone: str = ""


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    group_start: bool = False
    greyed: bool = False


@dataclass(frozen=True)
class Table:
    header: tuple[Cell, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Section:
    """A titled part of the report: paragraphs, an optional figure, tables, notes, code."""

    anchor: str
    title: str
    paragraphs: tuple[str, ...] = ()
    figure: str | None = None
    figure_alt: str = ""
    caption: str = ""
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    #: (label, name, source code) shown as code blocks after the tables, titled "label `name`".
    code: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Model:
    name: str
    color: str
    source: str = ""


@dataclass(frozen=True)
class Content:
    title: str
    intro: tuple[str, ...]
    models: tuple[Model, ...]
    sections: tuple[Section, ...] = field(default_factory=tuple)


def report_content(
    scores: pd.DataFrame,
    coverage: pd.DataFrame,
    overlap: pd.DataFrame,
    *,
    title: str = "Slice report",
    metric: str = "f1",
    score_split: str = "test",
    overlap_split: str = "train",
    sources: Mapping[str, str] | None = None,
    comparisons: pd.DataFrame | None = None,
    seed_spread: pd.DataFrame | None = None,
    discovery: pd.DataFrame | None = None,
    class_names: Sequence[str] | None = None,
    trends: pd.DataFrame | None = None,
    trends_threshold: float | None = 0.1,
    trends_model: str = "",
) -> Content:
    """The report's content from its tables; each optional table adds its section."""
    facts = _Facts(scores, metric, class_names)
    if comparisons is not None:
        comparisons = _checked_comparisons(comparisons, facts)
    if seed_spread is not None:
        seed_spread = _checked_seed_spread(seed_spread, facts)
    if discovery is not None:
        discovery = _checked(discovery, DISCOVERY_COLUMNS, "discovery")
    sources = dict(sources or {})
    bold = _BoldRule(comparisons, facts.models)

    sections = [_per_slice_section(facts, bold, score_split)]
    if trends is not None:
        sections.append(_trends_section(_checked(trends, TREND_COLUMNS, "trends"), facts, trends_threshold, score_split, trends_model))
    if comparisons is not None:
        sections.append(_comparisons_section(comparisons, facts))
    if seed_spread is not None:
        sections.append(_seed_spread_section(seed_spread, facts, score_split))
    sections.append(_all_metrics_section(facts, bold, score_split))
    sections.append(_coverage_section(coverage))
    sections.append(_overlap_section(overlap, overlap_split))
    if discovery is not None:
        sections.append(_discovery_section(discovery))

    intro = [
        _summary(facts, coverage, score_split, overlap_split),
        f"Bars and tables compare the models slice by slice. {bold.sentence()} "
        f"{MISSING} marks a metric undefined on a slice (e.g. ROC AUC where every row has one label).",
    ]
    if facts.has_intervals:
        intro.append("Error bars, and the ranges in brackets after a value, are the intervals the scores tables give.")
    intro.extend(_reading_notes(facts))
    models = tuple(
        Model(name, MODEL_COLORS[i % len(MODEL_COLORS)], sources.get(name, "")) for i, name in enumerate(facts.models)
    )
    return Content(title=title, intro=tuple(intro), models=models, sections=tuple(sections))


def _reading_notes(facts: _Facts) -> list[str]:
    """The introduction's notes on greyed slices and class names, as both pages say them."""
    notes = []
    if facts.any_insufficient:
        notes.append("Slices with too few rows (or too few of a class) to judge are greyed and marked insufficient, with the reason.")
    if facts.class_names:
        notes.append(
            "Classes: " + ", ".join(f"{name} ({i})" for i, name in enumerate(facts.class_names))
            + f"; “{facts.positives_header}” counts each slice's rows of class 1."
        )
    return notes


def seed_report_content(
    scores: pd.DataFrame,
    seed_spread: pd.DataFrame,
    *,
    title: str = "Spread over seeds",
    metric: str = "f1",
    score_split: str = "test",
    sources: Mapping[str, str] | None = None,
    paragraphs: Sequence[str] = (),
    class_names: Sequence[str] | None = None,
    colors: Mapping[str, str] | None = None,
) -> Content:
    """The multi-seed page: each model's per-slice value with its interval (``scores``, one trained
    model per display name) beside the spread of that value over seeds (``seed_spread``, the same
    models trained again with other seeds). ``paragraphs`` are added to the introduction (what the
    seeds and the intervals were); ``colors`` (display name -> colour) keeps a model's colour of
    another report."""
    facts = _Facts(scores, metric, class_names)
    seed_spread = _checked_seed_spread(seed_spread, facts)
    has_overall = bool(facts.slices) and facts.slices[0] == OVERALL
    n_slices = len(facts.slices) - (1 if has_overall else 0)
    n_models, n_seeds = len(facts.models), int(seed_spread["n_seeds"].max()) if len(seed_spread) else 0
    n_rows = f"{int(facts.sizes['n'].iloc[0])} rows, " if has_overall else ""
    intro = [
        f"{n_models} model{'s' if n_models != 1 else ''} on the {score_split} split "
        f"({n_rows}{n_slices} slices{' plus overall' if has_overall else ''}), "
        f"each trained again with {n_seeds} seeds.",
        "Two kinds of uncertainty, side by side. "
        + (
            f"The interval after each {score_split} value says how far that trained model's score would move "
            f"on other rows like these (resampling the {score_split} rows). "
            if facts.has_intervals
            else ""
        )
        + "The seed mean, standard deviation (sd), lowest and highest value say how far the score moves "
        "when the same model is trained again with other initial weights and batch orders. A difference "
        "between two models no larger than these is no reason to prefer one.",
        *paragraphs,
    ]
    intro.extend(_reading_notes(facts))
    sections = (
        _spread_beside_interval_section(seed_spread, facts, score_split),
        _seed_spread_section(seed_spread, facts, score_split, title="Every metric over seeds", whiskers=False),
    )
    sources, colors = dict(sources or {}), dict(colors or {})
    models = tuple(
        Model(name, colors.get(name, MODEL_COLORS[i % len(MODEL_COLORS)]), sources.get(name, ""))
        for i, name in enumerate(facts.models)
    )
    return Content(title=title, intro=tuple(intro), models=models, sections=sections)


# --------------------------------------------------------------------------------------
# Formatting: the only place numbers become text


def number(value: object, digits: int = 3) -> str:
    """A value as shown in the report: fixed decimals, :data:`MISSING` where undefined."""
    if value is None:
        return MISSING
    value = float(value)
    return MISSING if math.isnan(value) else f"{value:.{digits}f}"


def interval(low: object, high: object, digits: int = 3) -> str:
    """``[low, high]``, or empty when either bound is undefined."""
    low_text, high_text = number(low, digits), number(high, digits)
    return "" if MISSING in (low_text, high_text) else f"[{low_text}, {high_text}]"


def p_value(value: object) -> str:
    text = number(value)
    return "<0.001" if text not in (MISSING,) and float(value) < 0.001 else text


def count(value: object) -> str:
    """A whole number (a row or seed count), :data:`MISSING` where undefined."""
    text = number(value, 0)
    return text if text == MISSING else str(int(float(value)))


def _signed(value: object) -> str:
    text = number(value)
    return text if text == MISSING else f"{float(value):+.3f}"


def _value_cell(value: object, note: str = "", bold: bool = False) -> Cell:
    text = number(value)
    missing = text == MISSING
    return Cell(text, note="" if missing else note, bold=bold and not missing, missing=missing)


def _name(text: object) -> Cell:
    return Cell(str(text), kind="name")


def _header(names: Sequence[str], left: Sequence[int] = (0,)) -> tuple[Cell, ...]:
    return tuple(Cell(str(name), kind="name" if i in left else "num") for i, name in enumerate(names))


# --------------------------------------------------------------------------------------
# Facts about the scores table


class _Facts:
    """The scores table, read once: models, slices, metrics, sizes, intervals, flags."""

    def __init__(self, scores: pd.DataFrame, metric: str, class_names: Sequence[str] | None) -> None:
        if metric not in scores.columns:
            raise ValueError(f"Metric {metric!r} is not in the scores table (columns: {list(scores.columns)}).")
        if class_names is not None and len(class_names) < 2:
            raise ValueError(f"class_names must name at least two classes (by index); got {list(class_names)}.")
        self.scores = scores
        self.metric = metric
        self.models = list(dict.fromkeys(scores["model"]))
        self.slices = list(dict.fromkeys(scores["slice"]))
        self.metrics = metric_columns(scores)
        self.indexed = scores.set_index(["slice", "model"])
        first = scores[scores["model"] == self.models[0]].set_index("slice").loc[self.slices]
        self.sizes = first[["n", "n_positive"]]
        self.has_intervals = any(
            bound in scores.columns for m in self.metrics for bound in interval_columns(m)
        )
        self.insufficient: dict[str, str] = {}
        if INSUFFICIENT in scores.columns:
            for slice_name in self.slices:
                flagged = scores[(scores["slice"] == slice_name) & scores[INSUFFICIENT].astype(bool)]
                if len(flagged):
                    reasons = [r for r in flagged.get(INSUFFICIENT_REASON, pd.Series(dtype=str)) if str(r)]
                    self.insufficient[slice_name] = str(reasons[0]) if reasons else ""
        self.any_insufficient = bool(self.insufficient)
        self.class_names = list(class_names) if class_names is not None else None
        self.positives_header = f"n {self.class_names[1]}" if self.class_names else "positives"

    def value(self, slice_name: str, model: str, metric: str) -> float:
        return float(self.indexed.loc[(slice_name, model), metric])

    def interval_note(self, slice_name: str, model: str, metric: str) -> str:
        low, high = interval_columns(metric)
        if low not in self.scores.columns or high not in self.scores.columns:
            return ""
        row = self.indexed.loc[(slice_name, model)]
        return interval(row[low], row[high])

    def size_cells(self, slice_name: str) -> list[Cell]:
        return [
            Cell(str(int(self.sizes.loc[slice_name, "n"]))),
            Cell(str(int(self.sizes.loc[slice_name, "n_positive"]))),
        ]


def _summary(facts: _Facts, coverage: pd.DataFrame, score_split: str, overlap_split: str) -> str:
    has_overall = bool(facts.slices) and facts.slices[0] == OVERALL
    n_rows = f"{int(facts.sizes['n'].iloc[0])} rows, " if has_overall else ""
    n_slices = len(facts.slices) - (1 if has_overall else 0)
    splits = list(dict.fromkeys(coverage["split"]))
    n_models = len(facts.models)
    return (
        f"Per-slice scores of {n_models} model{'s' if n_models != 1 else ''} "
        f"on the {score_split} split ({n_rows}{n_slices} slices"
        f"{' plus overall' if has_overall else ''}); slice coverage on "
        f"{', '.join(splits[:-1]) + ' and ' + splits[-1] if len(splits) > 1 else splits[0]}; "
        f"overlap between slices on {overlap_split}."
    )


# --------------------------------------------------------------------------------------
# Bold: only a model the paired comparisons call better than every other


class _BoldRule:
    """Which values are bold: a model's value on a slice and metric is bold only where the
    comparisons table says that model is ``better`` than every other model there (the
    verdict is read both ways: ``a better than b`` or ``b worse than a``). Without a
    comparisons table nothing is bold: a bare highest value is no evidence."""

    def __init__(self, comparisons: pd.DataFrame | None, models: list[str]) -> None:
        self.available = comparisons is not None
        self.models = models
        self._beats: set[tuple[str, str, str, str]] = set()  # (slice, metric, winner, loser)
        if comparisons is not None:
            for row in comparisons.itertuples(index=False):
                if row.verdict == BETTER:
                    self._beats.add((row.slice, row.metric, row.model_a, row.model_b))
                elif row.verdict == WORSE:
                    self._beats.add((row.slice, row.metric, row.model_b, row.model_a))

    def __call__(self, slice_name: str, metric: str, model: str) -> bool:
        others = [m for m in self.models if m != model]
        return bool(others) and all((slice_name, metric, model, o) in self._beats for o in others)

    def sentence(self) -> str:
        if self.available:
            return (
                "A value is in bold only where the paired comparison finds that model better than "
                "every other model on that slice and metric."
            )
        return "No value is in bold, as no paired comparisons were given."

    def note(self) -> str:
        if self.available:
            return (
                "Bold: better than every other model on that slice and metric by the paired "
                "comparison (see Paired comparisons); a higher value without that verdict is not bold."
            )
        return (
            "No value is in bold: no paired comparisons were given, and a highest value alone does not "
            "show that a model is better on a slice."
        )


# --------------------------------------------------------------------------------------
# Sections


def _per_slice_section(facts: _Facts, bold: _BoldRule, split: str) -> Section:
    label, metric = metric_label(facts.metric), facts.metric
    header = ["slice", "n", facts.positives_header, *facts.models]
    if facts.any_insufficient:
        header.append("note")
    rows = []
    for slice_name in facts.slices:
        cells = [_name(slice_name), *facts.size_cells(slice_name)]
        cells += [
            _value_cell(
                facts.value(slice_name, model, metric),
                facts.interval_note(slice_name, model, metric),
                bold(slice_name, metric, model),
            )
            for model in facts.models
        ]
        greyed = slice_name in facts.insufficient
        if facts.any_insufficient:
            reason = facts.insufficient.get(slice_name)
            cells.append(_name("" if reason is None else f"insufficient: {reason}" if reason else "insufficient"))
        rows.append(Row(tuple(cells), greyed=greyed))
    positives = facts.class_names[1] + " rows" if facts.class_names else "positive rows"
    caption = (
        f"Top: {label} of each model on each slice of {split}"
        + (", with its interval" if facts.has_intervals else "")
        + ("; greyed bars: too few rows to judge" if facts.any_insufficient else "")
        + f". Bottom: rows in each slice (dark: {positives}). Scores on small slices are noisy."
    )
    return Section(
        anchor="per-slice",
        title=f"{label} per slice",
        figure="slice_metric",
        figure_alt=f"{label} per slice and model, with slice sizes",
        caption=caption,
        tables=(Table(_header(header, left=(0, len(header) - 1) if facts.any_insufficient else (0,)), tuple(rows)),),
        notes=(bold.note(),),
    )


def _all_metrics_section(facts: _Facts, bold: _BoldRule, split: str) -> Section:
    header = ["slice", "n", facts.positives_header, "model", *[metric_label(m) for m in facts.metrics]]
    span = len(facts.models)
    rows = []
    for slice_name in facts.slices:
        sizes = [_name(slice_name), *facts.size_cells(slice_name)]
        for position, model in enumerate(facts.models):
            first = position == 0
            cells = [
                Cell(c.text, kind=c.kind, rowspan=span) if first else Cell("", kind=c.kind, covered=True)
                for c in sizes
            ]
            cells.append(_name(model))
            cells += [
                _value_cell(facts.value(slice_name, model, m), bold=bold(slice_name, m, model)) for m in facts.metrics
            ]
            rows.append(Row(tuple(cells), group_start=first, greyed=slice_name in facts.insufficient))
    return Section(
        anchor="all-metrics",
        title="Every metric, every model",
        paragraphs=(f"All metrics of every model on every slice of {split}.",),
        tables=(Table(_header(header, left=(0, 3)), tuple(rows)),),
        notes=(bold.note(),) if bold.available else (),
    )


def _coverage_section(coverage: pd.DataFrame) -> Section:
    splits = list(dict.fromkeys(coverage["split"]))
    table = coverage.set_index(["slice", "split"])
    first_slice = coverage["slice"].iloc[0]
    header = ["slice", *[f"{s} (n={int(table.loc[(first_slice, s), 'n_rows'])})" for s in splits]]
    rows = []
    for slice_name in dict.fromkeys(coverage["slice"]):
        cells = [_name(slice_name)]
        for split in splits:
            entry = table.loc[(slice_name, split)]
            fraction = float(entry["fraction"])
            text = MISSING if math.isnan(fraction) else f"{fraction:.1%} ({int(entry['n_in_slice'])})"
            cells.append(Cell(text))
        rows.append(Row(tuple(cells)))
    return Section(
        anchor="coverage",
        title="Slice coverage",
        paragraphs=(
            f"Share of each split's rows in each slice (rows in brackets); “{ANY_SLICE}” counts rows in at least one slice.",
        ),
        figure="slice_coverage",
        figure_alt="Fraction of rows in each slice, per split",
        tables=(Table(_header(header), tuple(rows)),),
    )


def _overlap_section(overlap: pd.DataFrame, split: str) -> Section:
    both = overlap_matrix(overlap, "n_both")
    jaccard = overlap_matrix(overlap, "jaccard")
    names = list(both.index)
    rows = []
    for i, a in enumerate(names):
        cells = [_name(a)]
        for j in range(len(names)):
            if i == j:
                cells.append(Cell(f"{int(both.iat[i, j])}"))
            elif int(both.iat[i, j]) == 0 or math.isnan(float(jaccard.iat[i, j])):
                cells.append(Cell("0"))
            else:
                cells.append(Cell(f"{float(jaccard.iat[i, j]):.3f} ({int(both.iat[i, j])})"))
        rows.append(Row(tuple(cells)))
    return Section(
        anchor="overlap",
        title="Slice overlap",
        paragraphs=(
            f"How much the slices overlap on {split}: Jaccard similarity |A∩B| / |A∪B| with the number of "
            f"rows in both in brackets; the diagonal gives each slice's size.",
        ),
        figure="slice_overlap",
        figure_alt="Pairwise Jaccard similarity between slices",
        tables=(Table(_header(["slice", *names]), tuple(rows)),),
    )


def _metric_order(facts: _Facts) -> list[str]:
    """The report's metric first, then the others in the scores table's order."""
    return [facts.metric, *[m for m in facts.metrics if m != facts.metric]]


def _comparisons_section(comparisons: pd.DataFrame, facts: _Facts) -> Section:
    metric_rank = {m: i for i, m in enumerate(_metric_order(facts))}
    slice_rank = {s: i for i, s in enumerate(facts.slices)}
    ordered = comparisons.assign(
        _metric=comparisons["metric"].map(metric_rank), _slice=comparisons["slice"].map(slice_rank)
    ).sort_values(["_metric", "_slice"], kind="stable")
    header = ["slice", "metric", "model A", "model B", "A − B", "interval", "p", "p adjusted", "verdict"]
    rows, previous = [], None
    for row in ordered.itertuples(index=False):
        verdict = str(row.verdict)
        cells = (
            _name(row.slice),
            _name(metric_label(row.metric)),
            _name(row.model_a),
            _name(row.model_b),
            Cell(_signed(row.difference)),
            Cell(interval(row.low, row.high)),
            Cell(p_value(row.p_value)),
            Cell(p_value(row.p_adjusted)),
            Cell(verdict, kind="name", tone=verdict),
        )
        group = (row.metric, row.slice)
        rows.append(Row(cells, group_start=previous is not None and group != previous, greyed=verdict == INSUFFICIENT_VERDICT))
        previous = group
    return Section(
        anchor="comparisons",
        title="Paired comparisons",
        paragraphs=(
            "Each pair of models on each slice and metric, scored on the same rows: the difference A − B, "
            "its interval, the p-value and the p-value adjusted for the number of comparisons. "
            "The verdict is about model A against model B; a slice too small to judge is insufficient "
            "and never called better or worse.",
        ),
        tables=(Table(_header(header, left=(0, 1, 2, 3, 8)), tuple(rows)),),
    )


def _value_header(facts: _Facts, split: str, label: str = "") -> str:
    """The header of a column of scored values, e.g. ``test F1 [interval]``."""
    return " ".join(part for part in (split, label, "[interval]" if facts.has_intervals else "") if part)


def _spread_cells(entry: object) -> list[Cell]:
    """Seed mean, sd, min, max and seed count of one spread row; :data:`MISSING` without one."""
    if entry is None:
        return [Cell(MISSING, missing=True) for _ in range(5)]
    return [
        _value_cell(entry.mean), _value_cell(entry.std), _value_cell(entry.min), _value_cell(entry.max),
        Cell(count(entry.n_seeds)),
    ]


def _seed_spread_section(
    seed_spread: pd.DataFrame, facts: _Facts, split: str, *, title: str = "Spread over seeds", whiskers: bool = True
) -> Section:
    """Every metric's spread over seeds, beside the scored model's value on ``split`` and its interval."""
    metric_rank = {m: i for i, m in enumerate(_metric_order(facts))}
    slice_rank = {s: i for i, s in enumerate(facts.slices)}
    model_rank = {m: i for i, m in enumerate(facts.models)}
    ordered = seed_spread.assign(
        _metric=seed_spread["metric"].map(metric_rank),
        _slice=seed_spread["slice"].map(slice_rank),
        _model=seed_spread["model"].map(model_rank),
    ).sort_values(["_metric", "_slice", "_model"], kind="stable")
    header = ["slice", "metric", "model", _value_header(facts, split), "seed mean", "sd", "min", "max", "seeds"]
    rows, previous = [], None
    for row in ordered.itertuples(index=False):
        value = _value_cell(
            facts.value(row.slice, row.model, row.metric), facts.interval_note(row.slice, row.model, row.metric)
        )
        cells = (_name(row.slice), _name(metric_label(row.metric)), _name(row.model), value, *_spread_cells(row))
        group = (row.metric, row.slice)
        rows.append(Row(cells, group_start=previous is not None and group != previous, greyed=row.slice in facts.insufficient))
        previous = group
    return Section(
        anchor="seed-spread",
        title=title,
        paragraphs=(
            f"Each model trained with several seeds: the mean, standard deviation (sd), lowest and highest value "
            f"of each metric per slice, beside the model's value on {split}"
            + (" with its interval" if facts.has_intervals else "")
            + ". The interval says how far the value would move on other rows; the spread, how far it moves "
            "with other initial weights and batch orders."
            + (
                f" The {metric_label(facts.metric)} figure draws the lowest to highest value as a thin "
                "whisker beside each bar (seed range)."
                if whiskers and (seed_spread["metric"] == facts.metric).any()
                else ""
            ),
        ),
        tables=(Table(_header(header, left=(0, 1, 2)), tuple(rows)),),
    )


def _spread_beside_interval_section(seed_spread: pd.DataFrame, facts: _Facts, split: str) -> Section:
    """The report's metric per slice and model: the value with its interval beside the seed spread."""
    label = metric_label(facts.metric)
    spread = seed_spread[seed_spread["metric"] == facts.metric].set_index(["slice", "model"])
    header = ["slice", "n", facts.positives_header, "model", _value_header(facts, split, label),
              "seed mean", "sd", "min", "max", "seeds"]
    span, rows = len(facts.models), []
    for slice_name in facts.slices:
        shared = [_name(slice_name), *facts.size_cells(slice_name)]
        for position, model in enumerate(facts.models):
            first = position == 0
            cells = [Cell(c.text, kind=c.kind, rowspan=span) if first else Cell("", kind=c.kind, covered=True) for c in shared]
            cells.append(_name(model))
            cells.append(_value_cell(
                facts.value(slice_name, model, facts.metric), facts.interval_note(slice_name, model, facts.metric)
            ))
            key = (slice_name, model)
            cells += _spread_cells(next(spread.loc[[key]].itertuples()) if key in spread.index else None)
            rows.append(Row(tuple(cells), group_start=first, greyed=slice_name in facts.insufficient))
    notes = tuple(
        f"Greyed, insufficient: {name}" + (f" ({reason})" if reason else "") + "."
        for name, reason in facts.insufficient.items()
    )
    return Section(
        anchor="spread-vs-interval",
        title=f"{label} per slice: interval and spread over seeds",
        figure="seed_spread",
        figure_alt=f"{label} per slice and model: the value with its interval beside the spread over seeds",
        caption=(
            f"{label} of each model on each slice of {split}. Circle: the value"
            + (", black bar: its interval" if facts.has_intervals else "")
            + ". Diamond: the mean over seeds, thick bar: ± one standard deviation, thin line: lowest to highest seed."
            + (" Faded: too few rows to judge." if facts.any_insufficient else "")
        ),
        tables=(Table(_header(header, left=(0, 3)), tuple(rows)),),
        notes=notes,
    )


def _discovery_section(discovery: pd.DataFrame) -> Section:
    ordered = discovery.sort_values("rank", kind="stable")
    header = ["rank", "predicate", "n", "error rate", "interval", "lift", "p adjusted"]
    rows, code = [], []
    for row in ordered.itertuples(index=False):
        rows.append(
            Row(
                (
                    Cell(count(row.rank)),
                    Cell(str(row.predicate), kind="code"),
                    Cell(count(row.n)),
                    Cell(number(row.error_rate)),
                    Cell(interval(row.low, row.high)),
                    Cell(number(row.lift, 2)),
                    Cell(p_value(row.p_adjusted)),
                )
            )
        )
        source = row.slicing_function
        if isinstance(source, str) and source.strip():
            code.append((f"{count(row.rank)}.", str(row.predicate), source.rstrip("\n")))
    return Section(
        anchor="discovery",
        title="Discovered slices",
        paragraphs=(
            "Slices found by searching the data for where the model errs most: each predicate's rows, error "
            "rate with its interval, lift over the overall error rate and adjusted p-value. Each comes with a "
            "slicing function to add to the project's slices.",
        ),
        tables=(Table(_header(header, left=(1,)), tuple(rows)),),
        code=tuple(code),
    )


# --------------------------------------------------------------------------------------
# Checks of the optional tables


def _checked(table: pd.DataFrame, columns: Sequence[str], name: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"The {name} table must be a pandas DataFrame, not {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"The {name} table lacks column(s) {missing} (it has {list(table.columns)}).")
    return table.reset_index(drop=True)


def _unknown(values: pd.Series, known: Sequence[str]) -> list[str]:
    return sorted({str(v) for v in values if v not in set(known)})


def _checked_comparisons(comparisons: pd.DataFrame, facts: _Facts) -> pd.DataFrame:
    comparisons = _checked(comparisons, COMPARISON_COLUMNS, "comparisons")
    problems = []
    for column, known, what in (
        ("model_a", facts.models, "models of the scores table (rename them to the report's display names)"),
        ("model_b", facts.models, "models of the scores table (rename them to the report's display names)"),
        ("slice", facts.slices, "slices of the scores table"),
        ("metric", facts.metrics, "metrics of the scores table"),
        ("verdict", VERDICTS, f"verdicts {list(VERDICTS)}"),
    ):
        unknown = _unknown(comparisons[column], known)
        if unknown:
            problems.append(f"column {column!r} has {unknown}, not among the {what}")
    if problems:
        raise ValueError("The comparisons table does not match the report: " + "; ".join(problems) + ".")
    return comparisons


def _checked_seed_spread(seed_spread: pd.DataFrame, facts: _Facts) -> pd.DataFrame:
    seed_spread = _checked(seed_spread, SEED_SPREAD_COLUMNS, "seed_spread")
    repeated = seed_spread.duplicated(["model", "slice", "metric"], keep=False)
    if repeated.any():
        first = seed_spread.loc[repeated, ["model", "slice", "metric"]].iloc[0].to_dict()
        raise ValueError(
            f"The seed_spread table has {int(repeated.sum())} rows that repeat a (model, slice, metric), "
            f"e.g. {first} at row(s) {list(seed_spread.index[repeated][:5])}: one row per model, slice and metric."
        )
    problems = []
    for column, known in (("model", facts.models), ("slice", facts.slices), ("metric", facts.metrics)):
        unknown = _unknown(seed_spread[column], known)
        if unknown:
            problems.append(f"column {column!r} has {unknown}, not among the {column}s of the scores table")
    if problems:
        raise ValueError("The seed_spread table does not match the report: " + "; ".join(problems) + ".")
    return seed_spread


# --------------------------------------------------------------------------------------
# Trends over the last runs (slicekit.reporting.trends)


def _trends_section(trends: pd.DataFrame, facts: _Facts, threshold: float | None, split: str, model: str) -> Section:
    """Each slice's metric and predicted-positive rate now, beside the median of the earlier runs."""
    label = metric_label(facts.metric)
    summary = trend_summary(trends, metric=facts.metric, threshold=threshold)
    n_points = int(trends["point"].nunique()) if len(trends) else 0
    header = [
        "slice", f"{label} now", f"{label} before (median)", "positive rate now", "positive rate before (median)",
        "change", "earlier runs", "flag",
    ]
    rows = []
    for row in summary.itertuples(index=False):
        rows.append(Row(
            (
                _name(row.slice),
                _value_cell(row.latest),
                _value_cell(row.previous_median),
                _value_cell(row.rate),
                _value_cell(row.rate_previous_median),
                Cell(_signed(row.rate_change)),
                Cell(count(row.n_previous)),
                Cell("moved" if row.flagged else "", kind="name", tone=WORSE if row.flagged else ""),
            ),
            greyed=row.slice in facts.insufficient,
        ))
    who = f"{model}'s " if model else ""
    paragraphs = [
        f"{who}{label} and predicted-positive rate on each slice of {split} over the last {n_points} "
        f"run{'s' if n_points != 1 else ''} of the MLflow experiment, oldest first; this run is the last point. "
        "“Before” is the median of the earlier runs.",
    ]
    if n_points <= 1:
        paragraphs.append("The experiment holds no earlier finished run with these values yet: only this run is shown.")
    if threshold is None:
        paragraphs.append("No slice is flagged (no threshold is set).")
    else:
        paragraphs.append(
            f"A slice is flagged “moved” when its predicted-positive rate differs from that median by more than "
            f"{threshold:g}; no labels are needed for that."
        )
    return Section(
        anchor="trends",
        title=f"Trends over the last {n_points} run{'s' if n_points != 1 else ''}",
        paragraphs=tuple(paragraphs),
        figure="slice_trends",
        figure_alt=f"{label} and predicted-positive rate per slice over the last runs",
        caption=f"Top: {label} per slice and run. Bottom: predicted-positive rate per slice and run. "
                "One line per slice; overall in black.",
        tables=(Table(_header(header, left=(0, 7)), tuple(rows)),),
    )
