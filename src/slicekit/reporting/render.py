"""Render a slice report as one self-contained HTML page and as Markdown.

Both documents are Jinja2 templates (``templates/``) fed the same content
(:func:`slicekit.reporting.content.report_content`): the HTML page with autoescaping on
and one table macro, the Markdown with every value escaped for Markdown. The HTML page
embeds its figures as base64 ``data:`` URIs, so it is a single file; the Markdown version
links the same figures as PNG files beside it. Rendering is deterministic: the same tables
give byte-identical HTML, Markdown and PNGs (no timestamps, fixed number formats, PNGs
without metadata).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping, Sequence

import jinja2
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from slicekit.reporting.content import Content, report_content, seed_report_content
from slicekit.reporting.plots import figure_to_png, metric_label, plot_all, plot_seed_spread
from slicekit.reporting.trends import plot_trends

#: File names of the figures, relative to the Markdown report (conf/base/catalog_reporting.yml
#: writes the PNGs under these names beside ``slice_report.md``).
IMAGE_FILES = {
    "slice_metric": "slice_f1.png",
    "slice_coverage": "slice_coverage.png",
    "slice_overlap": "slice_overlap.png",
}
#: The same for the multi-seed page (:func:`build_seed_report`; conf/base/catalog_experiment.yml
#: writes the PNG under this name beside ``experiment_report.md``).
SEED_REPORT_IMAGE_FILES = {"seed_spread": "experiment_seed_spread.png"}
#: The trends figure's file, linked only when the report has trends (``build_slice_report(trends=...)``).
TRENDS_IMAGE_FILES = {"slice_trends": "slice_trends.png"}


@dataclass(frozen=True)
class SliceReport:
    """A rendered report: the HTML page, the Markdown text, and its figures (objects and PNG bytes)."""

    html: str
    markdown: str
    figures: dict[str, Figure] = field(repr=False)
    images: dict[str, bytes] = field(repr=False)


def build_slice_report(
    scores: pd.DataFrame,
    coverage: pd.DataFrame,
    overlap: pd.DataFrame,
    *,
    title: str = "Slice report",
    metric: str = "f1",
    score_split: str = "test",
    overlap_split: str = "train",
    sources: Mapping[str, str] | None = None,
    image_files: Mapping[str, str] | None = None,
    comparisons: pd.DataFrame | None = None,
    seed_spread: pd.DataFrame | None = None,
    discovery: pd.DataFrame | None = None,
    class_names: Sequence[str] | None = None,
    trends: pd.DataFrame | None = None,
    trends_threshold: float | None = 0.1,
    trends_model: str = "",
) -> SliceReport:
    """Draw the figures and render both documents.

    ``scores``, ``coverage`` and ``overlap`` are the tables of :mod:`slicekit.reporting.tables`
    (``scores`` may carry ``<metric>_low``/``<metric>_high`` intervals, drawn as error bars,
    and ``insufficient``/``insufficient_reason``, greyed). ``sources`` optionally maps a
    model's display name to where its scores came from (shown in the report).
    ``image_files`` overrides :data:`IMAGE_FILES` for the Markdown links.

    Optional sections, each left out when ``None``: ``comparisons`` (paired comparisons:
    ``slice, metric, model_a, model_b, difference, low, high, p_value, p_adjusted, verdict``,
    models by their display names; a value is bold only where it says the model is
    ``better`` than every other: without it nothing is bold), ``seed_spread`` (``model,
    slice, metric, mean, std, min, max, n_seeds``; beside each value and its interval, and
    whiskers in the figure; :func:`build_seed_report` makes a page of it),
    ``discovery`` (``rank, predicate, n, error_rate, lift, low, high, p_adjusted,
    slicing_function``). ``class_names`` lists the classes by index: ``n_positive`` is then
    headed ``n <class_names[1]>``. ``trends`` (:func:`slicekit.reporting.trends.slice_trends`'s
    table of ``trends_model``) adds "Trends over the last N runs" and the figure ``slice_trends``,
    a slice flagged where its predicted-positive rate moved more than ``trends_threshold``.
    """
    image_files = {**IMAGE_FILES, **TRENDS_IMAGE_FILES, **(image_files or {})}
    content = report_content(
        scores, coverage, overlap, title=title, metric=metric, score_split=score_split,
        overlap_split=overlap_split, sources=sources, comparisons=comparisons,
        seed_spread=seed_spread, discovery=discovery, class_names=class_names,
        trends=trends, trends_threshold=trends_threshold, trends_model=trends_model,
    )
    figures = plot_all(
        scores, coverage, overlap, metric=metric, overlap_split=overlap_split, score_split=score_split,
        seed_spread=seed_spread, class_names=class_names,
    )
    if trends is not None:
        figures["slice_trends"] = plot_trends(trends, metric=metric, metric_name=metric_label(metric), split=score_split)
    images = {name: figure_to_png(figure) for name, figure in figures.items()}
    return SliceReport(
        html=render_html(content, images),
        markdown=render_markdown(content, image_files),
        figures=figures,
        images=images,
    )


def build_seed_report(
    scores: pd.DataFrame,
    seed_spread: pd.DataFrame,
    *,
    title: str = "Spread over seeds",
    metric: str = "f1",
    score_split: str = "test",
    sources: Mapping[str, str] | None = None,
    paragraphs: Sequence[str] = (),
    image_files: Mapping[str, str] | None = None,
    class_names: Sequence[str] | None = None,
    colors: Mapping[str, str] | None = None,
) -> SliceReport:
    """The multi-seed page: per slice, each model's value with its interval beside its spread over seeds.

    ``scores`` is :func:`~slicekit.reporting.tables.combine_slice_scores`'s table of the models
    as trained once (with ``<metric>_low``/``<metric>_high`` intervals and ``insufficient``
    flags where it has them); ``seed_spread`` (``model, slice, metric, mean, std, min, max,
    n_seeds``) the same models trained over several seeds, by the same display names.
    ``paragraphs`` join the introduction; ``colors`` (display name -> colour) keeps each model's
    colour of the slice report. One figure, ``seed_spread`` (:data:`SEED_REPORT_IMAGE_FILES`),
    rendered with the same templates as the slice report.
    """
    content = seed_report_content(
        scores, seed_spread, title=title, metric=metric, score_split=score_split, sources=sources,
        paragraphs=paragraphs, class_names=class_names, colors=colors,
    )
    figures = {"seed_spread": plot_seed_spread(scores, seed_spread, metric, split=score_split, colors=colors)}
    images = {name: figure_to_png(figure) for name, figure in figures.items()}
    return SliceReport(
        html=render_html(content, images),
        markdown=render_markdown(content, {**SEED_REPORT_IMAGE_FILES, **(image_files or {})}),
        figures=figures,
        images=images,
    )


def render_html(content: Content, images: Mapping[str, bytes]) -> str:
    """The self-contained page: ``images`` (PNG bytes by figure key) embedded as data URIs."""
    sources = {name: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for name, png in images.items()}
    return _environment("html").get_template("report.html.j2").render(content=content, images=sources)


def render_markdown(content: Content, image_files: Mapping[str, str]) -> str:
    """The Markdown text, linking each figure by the file name ``image_files`` gives its key."""
    return _environment("md").get_template("report.md.j2").render(content=content, images=dict(image_files))


# --------------------------------------------------------------------------------------
# Jinja2 environments


def markdown_escape(value: object) -> str:
    """Text safe in a Markdown table cell or paragraph (values already :class:`Markup` pass as they are)."""
    if isinstance(value, Markup):
        return str(value)
    text = "" if value is None else str(value)
    for char in ("\\", "|", "*", "`"):
        text = text.replace(char, "\\" + char)
    return text.replace("<", "&lt;")


def markdown_code(value: object) -> Markup:
    """An inline code span, fenced with more backticks than the text contains."""
    text = str(value)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markup(f"{fence}{pad}{text}{pad}{fence}")


def markdown_fenced(value: object, language: str = "") -> Markup:
    """A fenced code block, its fence longer than any backtick run inside."""
    text = str(value)
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return Markup(f"{fence}{language}\n{text}\n{fence}")


@lru_cache(maxsize=None)
def _environment(kind: str) -> jinja2.Environment:
    """``html``: autoescaped HTML. ``md``: every ``{{ }}`` passes :func:`markdown_escape`."""
    common = dict(
        loader=jinja2.PackageLoader("slicekit.reporting", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    if kind == "html":
        return jinja2.Environment(autoescape=True, **common)
    environment = jinja2.Environment(autoescape=False, finalize=markdown_escape, **common)
    environment.filters.update(code=markdown_code, fenced=markdown_fenced)
    return environment
