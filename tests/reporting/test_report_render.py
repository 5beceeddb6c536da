"""The rendered report: self-contained, deterministic, complete, and its figures show the data."""

from __future__ import annotations

import base64
import re
import struct
import zlib

import pytest

from slicekit.reporting import (
    IMAGE_FILES,
    PNG_SAVE_ARGS,
    build_slice_report,
    combine_slice_scores,
    figure_to_png,
    plot_slice_metric,
    slice_coverage,
    slice_overlap,
)

from report_inputs import SLICES, model_tables_example, slice_matrices_example


def _inputs():
    matrices = slice_matrices_example()
    return (
        combine_slice_scores(model_tables_example()),
        slice_coverage(matrices),
        slice_overlap(matrices["train"]),
    )


@pytest.fixture(scope="module")
def report():
    scores, coverage, overlap = _inputs()
    return build_slice_report(
        scores, coverage, overlap, title="Test <report>", sources={"Baseline": "baseline_slice_scores"}
    )


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        position += 12 + length
    return chunks


def test_same_tables_give_byte_identical_documents_and_images(report):
    again = build_slice_report(
        *_inputs(), title="Test <report>", sources={"Baseline": "baseline_slice_scores"}
    )
    assert again.html == report.html
    assert again.markdown == report.markdown
    assert again.images == report.images


def test_pngs_carry_no_metadata_that_changes_between_runs(report):
    assert set(report.images) == set(IMAGE_FILES)
    for name, png in report.images.items():
        kinds = [kind for kind, _ in png_chunks(png)]
        assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND", name
        assert not {b"tIME", b"tEXt", b"iTXt", b"zTXt"} & set(kinds), (name, kinds)
    assert PNG_SAVE_ARGS["metadata"] == {"Software": None}


def test_html_is_one_self_contained_file(report):
    html = report.html
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert sources, "no images or links found"
    for source in sources:  # only embedded images and in-page anchors: nothing to fetch
        assert source.startswith("data:image/png;base64,") or source.startswith("#"), source[:60]
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    embedded = [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]
    assert embedded == [report.images[name] for name in ("slice_metric", "slice_coverage", "slice_overlap")]


def test_html_escapes_text_from_the_inputs(report):
    assert "<title>Test &lt;report&gt;</title>" in report.html
    assert "<report>" not in report.html


def _rows(html: str, first_cell: str) -> list[list[str]]:
    """Cell texts of the table rows whose first cell is ``first_cell``."""
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        if cells and cells[0] == first_cell:
            rows.append(cells)
    return rows


def test_html_f1_table_has_every_slice_and_model_and_bolds_nothing_without_comparisons(report):
    html = report.html
    for model in ("Baseline", "Oversampled", "Slice-aware"):
        assert f"<th>{model}</th>" in html
    f1_rows = {r[0]: r for r in (_rows(html, s)[0] for s in SLICES)}
    assert f1_rows["overall"] == ["overall", "10", "5", "0.800", "0.820", "0.810"]
    assert f1_rows["short"] == ["short", "4", "1", "0.500", "0.600", "0.750"]
    assert f1_rows["empty"] == ["empty", "0", "0", "–", "–", "–"]
    # The highest value alone (0.820, 0.750) is no evidence: without paired comparisons nothing is bold.
    assert 'class="best"' not in html and "**" not in report.markdown
    note = '<p class="note">No value is in bold: no paired comparisons were given'
    assert html.index('id="per-slice"') < html.index(note) < html.index('id="all-metrics"')


def test_html_metric_table_has_every_metric_of_every_model(report):
    html = report.html.split('id="all-metrics"')[1].split('id="coverage"')[0]
    assert re.findall(r"<th[^>]*>([^<]+)</th>", html) == [
        "slice", "n", "positives", "model", "Accuracy", "Precision", "Recall", "F1", "ROC AUC",
    ]
    bodies = re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S)[1:]
    assert len(bodies) == len(SLICES) * 3
    first = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", bodies[0])]
    assert first == ["overall", "10", "5", "Baseline", "0.800", "0.800", "0.800", "0.800", "0.900"]


def test_html_coverage_and_overlap_tables(report):
    assert _rows(report.html, "any slice") == [["any slice", "66.7% (4)", "50.0% (1)", "75.0% (3)"]]
    overlap_a = _rows(report.html, "a")[-1]
    assert overlap_a == ["a", "3", "0.500 (2)", "0"]


def test_markdown_links_the_figures_and_holds_the_tables(report):
    markdown = report.markdown
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert links == [IMAGE_FILES["slice_metric"], IMAGE_FILES["slice_coverage"], IMAGE_FILES["slice_overlap"]]
    assert "| short | 4 | 1 | 0.500 | 0.600 | 0.750 |" in markdown
    assert "| overall | 10 | 5 | Baseline | 0.800 | 0.800 | 0.800 | 0.800 | 0.900 |" in markdown
    assert "|  |  |  | Oversampled | 0.800 | 0.800 | 0.800 | 0.820 | 0.900 |" in markdown
    assert "| any slice | 66.7% (4) | 50.0% (1) | 75.0% (3) |" in markdown
    assert "- Baseline — `baseline_slice_scores`" in markdown
    assert "data:image" not in markdown


def test_metric_figure_draws_one_bar_per_model_and_slice_at_its_value():
    scores = combine_slice_scores(model_tables_example())
    figure = plot_slice_metric(scores, "f1")
    scores_axes, sizes_axes = figure.axes[:2]
    heights = [round(bar.get_height(), 6) for bar in scores_axes.patches]
    assert len(heights) == 3 * len(SLICES)
    assert heights[:4] == [0.8, 0.5, 1.0, 0.0]  # Baseline's bars, slice by slice; NaN drawn as no bar
    assert heights[4:8] == [0.82, 0.6, 1.0, 0.0]
    labels = [text.get_text() for text in scores_axes.texts]
    assert labels.count("n/a") == 3 and "0.750" in labels
    assert [tick.get_text() for tick in sizes_axes.get_xticklabels()] == SLICES
    assert [bar.get_height() for bar in sizes_axes.patches[:4]] == [10, 4, 3, 0]
    assert [text.get_text() for text in scores_axes.get_legend().get_texts()] == [
        "Baseline", "Oversampled", "Slice-aware",
    ]
    assert figure_to_png(figure) == figure_to_png(figure)  # the layout is fixed once drawn


def test_metric_figure_refuses_an_unknown_metric():
    with pytest.raises(ValueError, match="'mcc' is not in the scores table"):
        plot_slice_metric(combine_slice_scores(model_tables_example()), "mcc")


def test_templates_are_package_data():
    """A wheel carries the templates only if pyproject's package-data matches each of them."""
    import fnmatch
    from pathlib import Path

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        from pip._vendor import tomli as tomllib

    import slicekit

    root = Path(slicekit.__file__).parent
    config = tomllib.loads((root.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["slicekit"]
    templates = sorted(p.relative_to(root).as_posix() for p in (root / "reporting" / "templates").iterdir())
    assert {"reporting/templates/report.html.j2", "reporting/templates/report.md.j2"} <= set(templates)
    for template in templates:
        assert any(fnmatch.fnmatch(template, pattern) for pattern in patterns), template
