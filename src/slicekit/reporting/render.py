"""Render a slice report as one self-contained HTML page and as Markdown.

The HTML page embeds its figures as base64 ``data:`` URIs, so it is a single file;
the Markdown version links the same figures as PNG files beside it. Rendering is
deterministic: the same tables give byte-identical HTML, Markdown and PNGs (no
timestamps, fixed number formats, PNGs without metadata).
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from typing import Mapping

import pandas as pd
from matplotlib.figure import Figure

from slicekit.reporting.plots import MODEL_COLORS, figure_to_png, metric_label, plot_all
from slicekit.reporting.tables import ANY_SLICE, OVERALL, metric_columns, overlap_matrix

#: File names of the figures, relative to the Markdown report (conf/base/catalog_reporting.yml
#: writes the PNGs under these names beside ``slice_report.md``).
IMAGE_FILES = {
    "slice_metric": "slice_f1.png",
    "slice_coverage": "slice_coverage.png",
    "slice_overlap": "slice_overlap.png",
}

MISSING = "–"


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
) -> SliceReport:
    """Draw the figures and render both documents.

    ``scores``, ``coverage`` and ``overlap`` are the tables of :mod:`slicekit.reporting.tables`.
    ``sources`` optionally maps a model's display name to where its scores came from (shown
    in the report). ``image_files`` overrides :data:`IMAGE_FILES` for the Markdown links.
    """
    image_files = {**IMAGE_FILES, **(image_files or {})}
    figures = plot_all(scores, coverage, overlap, metric=metric, overlap_split=overlap_split, score_split=score_split)
    images = {name: figure_to_png(figure) for name, figure in figures.items()}
    content = _Content(scores, coverage, overlap, title, metric, score_split, overlap_split, dict(sources or {}))
    return SliceReport(
        html=_render_html(content, images),
        markdown=_render_markdown(content, image_files),
        figures=figures,
        images=images,
    )


# --------------------------------------------------------------------------------------
# What both documents say


@dataclass(frozen=True)
class _Content:
    scores: pd.DataFrame
    coverage: pd.DataFrame
    overlap: pd.DataFrame
    title: str
    metric: str
    score_split: str
    overlap_split: str
    sources: dict[str, str]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.scores["model"]))

    @property
    def slices(self) -> list[str]:
        return list(dict.fromkeys(self.scores["slice"]))

    @property
    def metrics(self) -> list[str]:
        return metric_columns(self.scores)

    def sizes(self) -> pd.DataFrame:
        first = self.scores[self.scores["model"] == self.models[0]]
        return first.set_index("slice").loc[self.slices, ["n", "n_positive"]]

    def values(self, metric: str) -> pd.DataFrame:
        """slices × models."""
        return self.scores.pivot(index="slice", columns="model", values=metric).reindex(
            index=self.slices, columns=self.models
        )

    def best(self, metric: str) -> dict[str, set[str]]:
        """Per slice, the models with the highest value of ``metric`` as shown (3 decimals);
        none when fewer than two models have a value or all show the same."""
        table = self.values(metric).round(3)
        result: dict[str, set[str]] = {}
        for slice_name, row in table.iterrows():
            present = row.dropna()
            if len(present) < 2 or present.nunique() == 1:
                result[slice_name] = set()
            else:
                result[slice_name] = set(present.index[present == present.max()])
        return result

    def summary(self) -> str:
        sizes = self.sizes()
        has_overall = bool(self.slices) and self.slices[0] == OVERALL
        n_rows = f"{int(sizes['n'].iloc[0])} rows, " if has_overall else ""
        n_slices = len(self.slices) - (1 if has_overall else 0)
        splits = list(dict.fromkeys(self.coverage["split"]))
        return (
            f"Per-slice scores of {len(self.models)} model{'s' if len(self.models) != 1 else ''} "
            f"on the {self.score_split} split ({n_rows}{n_slices} slices"
            f"{' plus overall' if has_overall else ''}); slice coverage on "
            f"{', '.join(splits[:-1]) + ' and ' + splits[-1] if len(splits) > 1 else splits[0]}; "
            f"overlap between slices on {self.overlap_split}."
        )

    def coverage_rows(self) -> tuple[list[str], list[list[str]]]:
        splits = list(dict.fromkeys(self.coverage["split"]))
        table = self.coverage.set_index(["slice", "split"])
        header = ["slice", *[f"{s} (n={int(table.loc[(self.coverage['slice'].iloc[0], s), 'n_rows'])})" for s in splits]]
        rows = []
        for slice_name in dict.fromkeys(self.coverage["slice"]):
            cells = [slice_name]
            for split in splits:
                entry = table.loc[(slice_name, split)]
                fraction = float(entry["fraction"])
                cells.append(MISSING if math.isnan(fraction) else f"{fraction:.1%} ({int(entry['n_in_slice'])})")
            rows.append(cells)
        return header, rows

    def overlap_rows(self) -> tuple[list[str], list[list[str]]]:
        both = overlap_matrix(self.overlap, "n_both")
        jaccard = overlap_matrix(self.overlap, "jaccard")
        names = list(both.index)
        rows = []
        for i, a in enumerate(names):
            cells = [a]
            for j in range(len(names)):
                if i == j:
                    cells.append(f"{int(both.iat[i, j])}")
                elif int(both.iat[i, j]) == 0 or math.isnan(float(jaccard.iat[i, j])):
                    cells.append("0")
                else:
                    cells.append(f"{float(jaccard.iat[i, j]):.3f} ({int(both.iat[i, j])})")
            rows.append(cells)
        return ["slice", *names], rows


def _number(value: float) -> str:
    return MISSING if value is None or math.isnan(float(value)) else f"{float(value):.3f}"


def _intro(content: _Content) -> list[str]:
    return [
        content.summary(),
        f"Bars and tables compare the models slice by slice; the best value of each metric "
        f"within a slice is in bold. {MISSING} marks a metric undefined on a slice "
        f"(e.g. ROC AUC where every row has one label).",
    ]


# --------------------------------------------------------------------------------------
# HTML

_CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #222; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 48px; background: #fff; }
h1 { font-size: 28px; margin: 0 0 8px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-top: 12px; border-top: 1px solid #e3e5e8; }
p { margin: 6px 0 10px; max-width: 900px; }
p.lead { color: #444; }
nav ul { margin: 6px 0 0; padding-left: 20px; }
figure { margin: 12px 0 18px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #eceef1; }
figcaption { color: #555; font-size: 13px; margin-top: 6px; }
table { border-collapse: collapse; margin: 10px 0 18px; font-size: 13.5px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #e3e5e8; text-align: right; white-space: nowrap; }
th { background: #f0f2f5; font-weight: 600; border-bottom: 2px solid #cfd3d9; }
td.name, th.name { text-align: left; }
tbody tr.group-start td { border-top: 2px solid #cfd3d9; }
td.best { font-weight: 700; }
td.missing { color: #999; }
code { background: #f0f2f5; padding: 1px 4px; border-radius: 3px; font-size: 13px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
""".strip()


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: float, best: bool) -> str:
    text = _number(value)
    classes = ["missing"] if text == MISSING else (["best"] if best else [])
    attribute = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attribute}>{_esc(text)}</td>"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(
        f'<th class="name">{_esc(h)}</th>' if i == 0 else f"<th>{_esc(h)}</th>" for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="name">{_esc(c)}</td>' if i == 0 else f"<td>{_esc(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_esc(alt)}">'


def _render_html(content: _Content, images: Mapping[str, bytes]) -> str:
    metric, label = content.metric, metric_label(content.metric)
    sizes, values, best = content.sizes(), content.values(metric), content.best(metric)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(content.title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_esc(content.title)}</h1>",
        *[f'<p class="lead">{_esc(p)}</p>' for p in _intro(content)],
        "<p>Models, in the order they appear:</p>",
        "<ul>",
    ]
    for i, model in enumerate(content.models):
        source = content.sources.get(model)
        swatch = f'<span class="swatch" style="background:{MODEL_COLORS[i % len(MODEL_COLORS)]}"></span>'
        parts.append(f"<li>{swatch}{_esc(model)}" + (f" — <code>{_esc(source)}</code>" if source else "") + "</li>")
    parts += [
        "</ul>",
        "<nav><strong>Contents</strong><ul>",
        f'<li><a href="#per-slice">{_esc(label)} per slice</a></li>',
        '<li><a href="#all-metrics">Every metric, every model</a></li>',
        '<li><a href="#coverage">Slice coverage</a></li>',
        '<li><a href="#overlap">Slice overlap</a></li>',
        "</ul></nav>",
        f'<h2 id="per-slice">{_esc(label)} per slice</h2>',
        f"<figure>{_img(images['slice_metric'], f'{label} per slice and model, with slice sizes')}"
        f"<figcaption>Top: {_esc(label)} of each model on each slice of {_esc(content.score_split)}. "
        f"Bottom: rows in each slice (dark: positive rows). Scores on small slices are noisy."
        f"</figcaption></figure>",
    ]
    header = ["slice", "n", "positives", *content.models]
    head = "".join(
        f'<th class="name">{_esc(h)}</th>' if i == 0 else f"<th>{_esc(h)}</th>" for i, h in enumerate(header)
    )
    rows = []
    for slice_name in content.slices:
        cells = [
            f'<td class="name">{_esc(slice_name)}</td>',
            f"<td>{int(sizes.loc[slice_name, 'n'])}</td>",
            f"<td>{int(sizes.loc[slice_name, 'n_positive'])}</td>",
        ]
        cells += [_cell(values.loc[slice_name, model], model in best[slice_name]) for model in content.models]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    parts.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>")

    parts += [
        '<h2 id="all-metrics">Every metric, every model</h2>',
        f"<p>All metrics of every model on every slice of {_esc(content.score_split)}.</p>",
    ]
    header = ["slice", "n", "positives", "model", *[metric_label(m) for m in content.metrics]]
    head = "".join(
        f'<th class="name">{_esc(h)}</th>' if i in (0, 3) else f"<th>{_esc(h)}</th>" for i, h in enumerate(header)
    )
    bests = {m: content.best(m) for m in content.metrics}
    indexed = content.scores.set_index(["slice", "model"])
    rows = []
    for slice_name in content.slices:
        for position, model in enumerate(content.models):
            first = position == 0
            span = len(content.models)
            cells = []
            if first:
                cells += [
                    f'<td class="name" rowspan="{span}">{_esc(slice_name)}</td>',
                    f'<td rowspan="{span}">{int(sizes.loc[slice_name, "n"])}</td>',
                    f'<td rowspan="{span}">{int(sizes.loc[slice_name, "n_positive"])}</td>',
                ]
            cells.append(f'<td class="name">{_esc(model)}</td>')
            cells += [
                _cell(indexed.loc[(slice_name, model), m], model in bests[m][slice_name]) for m in content.metrics
            ]
            row_class = ' class="group-start"' if first else ""
            rows.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    parts.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>")

    cov_header, cov_rows = content.coverage_rows()
    parts += [
        '<h2 id="coverage">Slice coverage</h2>',
        f"<p>Share of each split's rows in each slice (rows in brackets); <em>{_esc(ANY_SLICE)}</em> "
        f"counts rows in at least one slice.</p>",
        f"<figure>{_img(images['slice_coverage'], 'Fraction of rows in each slice, per split')}</figure>",
        _html_table(cov_header, cov_rows),
    ]
    ov_header, ov_rows = content.overlap_rows()
    parts += [
        '<h2 id="overlap">Slice overlap</h2>',
        f"<p>How much the slices overlap on {_esc(content.overlap_split)}: Jaccard similarity "
        f"|A∩B| / |A∪B| with the number of rows in both in brackets; the diagonal gives each slice's size.</p>",
        f"<figure>{_img(images['slice_overlap'], 'Pairwise Jaccard similarity between slices')}</figure>",
        _html_table(ov_header, ov_rows),
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------
# Markdown


def _md(value: object) -> str:
    """Text safe in a Markdown table cell or paragraph."""
    text = str(value)
    for char in ("\\", "|", "*", "`"):
        text = text.replace(char, "\\" + char)
    return text.replace("<", "&lt;")


def _md_table(header: list[str], rows: list[list[str]], left: tuple[int, ...] = (0,)) -> list[str]:
    """A pipe table; columns in ``left`` are left-aligned, the others (numbers) right-aligned."""
    align = [":---" if i in left else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _md_value(value: float, best: bool) -> str:
    text = _number(value)
    return f"**{text}**" if best and text != MISSING else text


def _render_markdown(content: _Content, image_files: Mapping[str, str]) -> str:
    metric, label = content.metric, metric_label(content.metric)
    sizes, values, best = content.sizes(), content.values(metric), content.best(metric)
    lines = [f"# {_md(content.title)}", ""]
    for paragraph in _intro(content):
        lines += [_md(paragraph), ""]
    lines += ["Models, in the order they appear:", ""]
    for model in content.models:
        source = content.sources.get(model)
        lines.append(f"- {_md(model)}" + (f" — `{source}`" if source else ""))
    lines += ["", f"## {label} per slice", "", f"![{label} per slice and model, with slice sizes]({image_files['slice_metric']})", ""]
    rows = [
        [
            _md(s), str(int(sizes.loc[s, "n"])), str(int(sizes.loc[s, "n_positive"])),
            *[_md_value(values.loc[s, m], m in best[s]) for m in content.models],
        ]
        for s in content.slices
    ]
    lines += _md_table(["slice", "n", "positives", *[_md(m) for m in content.models]], rows)

    lines += ["", "## Every metric, every model", "", f"All metrics of every model on every slice of {_md(content.score_split)}.", ""]
    bests = {m: content.best(m) for m in content.metrics}
    indexed = content.scores.set_index(["slice", "model"])
    rows = []
    for s in content.slices:
        for position, model in enumerate(content.models):
            first = position == 0
            rows.append(
                [
                    _md(s) if first else "",
                    str(int(sizes.loc[s, "n"])) if first else "",
                    str(int(sizes.loc[s, "n_positive"])) if first else "",
                    _md(model),
                    *[_md_value(indexed.loc[(s, model), m], model in bests[m][s]) for m in content.metrics],
                ]
            )
    lines += _md_table(["slice", "n", "positives", "model", *[metric_label(m) for m in content.metrics]], rows, left=(0, 3))

    cov_header, cov_rows = content.coverage_rows()
    lines += [
        "", "## Slice coverage", "",
        f"Share of each split's rows in each slice (rows in brackets); *{ANY_SLICE}* counts rows in at least one slice.",
        "", f"![Fraction of rows in each slice, per split]({image_files['slice_coverage']})", "",
    ]
    lines += _md_table([_md(h) for h in cov_header], [[_md(c) for c in row] for row in cov_rows])
    ov_header, ov_rows = content.overlap_rows()
    lines += [
        "", "## Slice overlap", "",
        f"How much the slices overlap on {_md(content.overlap_split)}: Jaccard similarity |A∩B| / |A∪B| "
        "with the number of rows in both in brackets; the diagonal gives each slice's size.",
        "", f"![Pairwise Jaccard similarity between slices]({image_files['slice_overlap']})", "",
    ]
    lines += _md_table([_md(h) for h in ov_header], [[_md(c) for c in row] for row in ov_rows])
    lines.append("")
    return "\n".join(lines)
