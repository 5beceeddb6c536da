"""What the report says: escaping, the same numbers in both documents, optional sections,
bold only from a paired comparison, insufficient slices greyed with their reason."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import markupsafe
import pandas as pd
import pytest

from slicekit.reporting import build_slice_report, combine_slice_scores, slice_coverage, slice_overlap

from report_inputs import (
    DISCOVERED_SOURCE,
    comparisons_example,
    discovery_example,
    model_tables_example,
    scores_with_intervals,
    seed_spread_example,
    slice_matrices_example,
)

OPTIONAL = {
    "comparisons": ("comparisons", "Paired comparisons", comparisons_example),
    "seed_spread": ("seed-spread", "Spread over seeds", seed_spread_example),
    "discovery": ("discovery", "Discovered slices", discovery_example),
}


def _build(tables=None, **optional):
    matrices = slice_matrices_example()
    scores = combine_slice_scores(tables if tables is not None else scores_with_intervals())
    return build_slice_report(
        scores, slice_coverage(matrices), slice_overlap(matrices["train"]), title="Report", **optional
    )


@pytest.fixture(scope="module")
def full():
    return _build(
        comparisons=comparisons_example(), seed_spread=seed_spread_example(), discovery=discovery_example(),
        class_names=["ham", "spam"],
    )


# --------------------------------------------------------------------------------------
# Reading the two documents back


def html_tables(page: str) -> list[list[list[str]]]:
    """Every table of the page as rows of cell texts (header row first); a cell under a
    rowspan is filled with ``""`` as in Markdown."""
    tables = []
    for body in re.findall(r"<table>(.*?)</table>", page, flags=re.S):
        rows, pending = [], {}  # column -> rows still covered by a rowspan above
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
            cells = re.findall(r"<t[hd]([^>]*)>(.*?)</t[hd]>", row, flags=re.S)
            texts, column = [], 0
            for attributes, inner in cells:
                while pending.get(column, 0) > 0:
                    pending[column] -= 1
                    texts.append("")
                    column += 1
                span = re.search(r'rowspan="(\d+)"', attributes)
                if span:
                    pending[column] = int(span.group(1)) - 1
                texts.append(html_lib.unescape(re.sub(r"<[^>]+>", "", inner)).strip())
                column += 1
            while pending.get(column, 0) > 0:
                pending[column] -= 1
                texts.append("")
                column += 1
            rows.append(texts)
        tables.append(rows)
    return tables


def markdown_tables(markdown: str) -> list[list[list[str]]]:
    """Every pipe table as rows of cell texts (header row first, the alignment row dropped)."""
    tables, current = [], None
    for line in markdown.splitlines():
        if line.startswith("| ") or line.startswith("|:") or line.startswith("|-"):
            if current is None:
                current = []
                tables.append(current)
            if re.fullmatch(r"\|(?::?-+:?\|)+", line):
                continue
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            current.append([_markdown_text(c.strip()) for c in cells])
        else:
            current = None
    return tables


def _markdown_text(cell: str) -> str:
    cell = re.sub(r"^\*\*(.*?)\*\*", r"\1", cell)
    cell = re.sub(r"\\(.)", r"\1", cell)
    return cell.replace("&lt;", "<")


def bold_cells(page: str) -> list[str]:
    return [text.strip() for text in re.findall(r'<td class="best">([^<]*)', page)]


# --------------------------------------------------------------------------------------


def test_html_escapes_a_slice_named_like_a_tag_and_markdown_escapes_it_too():
    tables = model_tables_example()
    for table in tables.values():
        table.loc[1, "slice"] = "<script>alert(1)</script>"
    report = _build(tables, class_names=["<i>ham</i>", "sp&m"])
    assert "<script" not in report.html and "<i>" not in report.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report.html
    assert "n sp&amp;m" in report.html
    assert "| &lt;script>alert(1)&lt;/script> |" in report.markdown
    assert [row[0] for row in html_tables(report.html)[0]][2] == "<script>alert(1)</script>"


def test_markdown_and_html_carry_the_same_tables_and_numbers(full):
    from_html, from_markdown = html_tables(full.html), markdown_tables(full.markdown)
    assert len(from_html) == len(from_markdown) == 7  # F1, comparisons, seeds, every metric, coverage, overlap, discovery
    assert from_html == from_markdown
    numbers = lambda text: re.findall(r"[+-]?\d+\.\d+", text)  # noqa: E731
    assert numbers(" ".join(c for t in from_html for r in t for c in r)) == numbers(
        " ".join(c for t in from_markdown for r in t for c in r)
    )
    assert from_html[0][0] == ["slice", "n", "n spam", "Baseline", "Oversampled", "Slice-aware", "note"]
    assert from_html[0][2][:6] == ["short", "4", "1", "0.500 [0.400, 0.600]", "0.600 [0.500, 0.700]", "0.750 [0.650, 0.850]"]


@pytest.mark.parametrize("given", list(OPTIONAL))
def test_each_optional_section_appears_only_when_given(given):
    anchor, heading, make = OPTIONAL[given]
    report = _build(**{given: make()})
    for name, (other_anchor, other_heading, _) in OPTIONAL.items():
        present = name == given
        assert (f'<h2 id="{other_anchor}">{other_heading}</h2>' in report.html) is present, name
        assert (f'<a href="#{other_anchor}">' in report.html) is present, name
        assert (f"\n## {other_heading}\n" in report.markdown) is present, name


def test_without_optional_inputs_the_report_has_todays_sections():
    report = _build(model_tables_example())
    assert re.findall(r'<h2 id="([^"]+)">', report.html) == ["per-slice", "all-metrics", "coverage", "overlap"]
    assert re.findall(r"^## (.+)$", report.markdown, flags=re.M) == [
        "F1 per slice", "Every metric, every model", "Slice coverage", "Slice overlap",
    ]


def test_bold_only_where_the_comparisons_say_better_than_every_other_model(full):
    # short/F1: Slice-aware beats Baseline ("better") and Oversampled ("Oversampled worse than Slice-aware").
    # overall/F1: Oversampled beats Baseline only, so it is not bold although it has the highest F1.
    assert bold_cells(full.html) == ["0.750", "0.750"]  # the F1 table and the every-metric table
    short = [row for row in html_tables(full.html)[0] if row[0] == "short"][0]
    assert short[5].startswith("0.750")
    assert re.findall(r"\*\*([^*]+)\*\*", full.markdown) == ["0.750", "0.750"]
    assert "| short | 4 | 1 | 0.500 [0.400, 0.600] | 0.600 [0.500, 0.700] | **0.750** [0.650, 0.850] |" in full.markdown


@pytest.mark.parametrize("verdict", ["no detectable difference", "insufficient"])
def test_no_bold_when_one_comparison_is_not_better(verdict):
    comparisons = comparisons_example()
    comparisons.loc[(comparisons["slice"] == "short") & (comparisons["model_a"] == "Oversampled")
                    & (comparisons["model_b"] == "Slice-aware"), "verdict"] = verdict
    report = _build(comparisons=comparisons)
    assert bold_cells(report.html) == [] and "**" not in report.markdown


def test_the_comparisons_table_shows_every_verdict(full):
    table = html_tables(full.html)[1]
    assert table[0] == ["slice", "metric", "model A", "model B", "A − B", "interval", "p", "p adjusted", "verdict"]
    assert table[4] == ["short", "F1", "Slice-aware", "Baseline", "+0.250", "[0.100, 0.400]", "<0.001", "<0.001", "better"]
    assert [row[-1] for row in table[1:]] == list(comparisons_example()["verdict"])
    assert '<td class="name verdict-worse">worse</td>' in full.html
    section = full.html.split('id="comparisons"')[1].split("</table>")[0]
    greyed = re.findall(r'<tr class="(?:group-start )?greyed">(.*?)</tr>', section)
    assert len(greyed) == 1 and "please" in greyed[0] and "insufficient" in greyed[0]


def test_insufficient_slices_are_greyed_with_their_reason(full):
    f1_table = html_tables(full.html)[0]
    notes = {row[0]: row[-1] for row in f1_table[1:]}
    assert notes == {
        "overall": "", "short": "", "please": "insufficient: 3 rows < min_support 5", "empty": "insufficient: no rows",
    }
    per_slice = full.html.split('id="per-slice"')[1].split('id="comparisons"')[0]
    greyed = re.findall(r'<tr class="greyed"><td class="name">([^<]+)</td>', per_slice)
    assert greyed == ["please", "empty"]
    every_metric = full.html.split('id="all-metrics"')[1].split('id="coverage"')[0]
    assert len(re.findall(r'<tr class="[^"]*greyed[^"]*">', every_metric)) == 2 * 3  # two slices x three models


def test_seed_spread_and_discovery_tables(full):
    tables = html_tables(full.html)
    seeds, discovery = tables[2], tables[6]
    # Each spread beside the model's value and its interval (scores_with_intervals: value ± 0.1).
    assert seeds[0] == ["slice", "metric", "model", "test [interval]", "seed mean", "sd", "min", "max", "seeds"]
    assert seeds[4] == ["short", "F1", "Slice-aware", "0.750 [0.650, 0.850]", "0.720", "0.040", "0.667", "0.750", "3"]
    assert [row[:2] for row in discovery[1:]] == [["1", "len < 5 & has 'http'"], ["2", "len < 5"]]  # by rank
    # The slicing function's source, escaped in HTML, verbatim in a fenced block in Markdown.
    assert f"<pre><code>{markupsafe.escape(DISCOVERED_SOURCE.rstrip())}</code></pre>" in full.html
    assert "```python\n" + DISCOVERED_SOURCE.rstrip("\n") + "\n```" in full.markdown


def test_class_names_label_the_counted_class(full):
    assert "<th>n spam</th>" in full.html and "| n spam |" in full.markdown
    assert "Classes: ham (0), spam (1)" in full.html


def test_reruns_with_every_section_are_byte_identical(full):
    again = _build(
        comparisons=comparisons_example(), seed_spread=seed_spread_example(), discovery=discovery_example(),
        class_names=["ham", "spam"],
    )
    assert (again.html, again.markdown, again.images) == (full.html, full.markdown, full.images)


def test_optional_tables_that_do_not_match_the_scores_are_refused():
    keys = comparisons_example().replace({"Slice-aware": "slice_aware"})
    with pytest.raises(ValueError, match=r"model_a.*\['slice_aware'\].*display names"):
        _build(comparisons=keys)
    with pytest.raises(ValueError, match=r"verdict.*\['best'\]"):
        _build(comparisons=comparisons_example().assign(verdict="best"))
    with pytest.raises(ValueError, match=r"seed_spread table lacks column\(s\) \['n_seeds'\]"):
        _build(seed_spread=seed_spread_example().drop(columns="n_seeds"))
    with pytest.raises(ValueError, match=r"discovery table lacks column\(s\) \['slicing_function'\]"):
        _build(discovery=discovery_example().drop(columns="slicing_function"))
    with pytest.raises(ValueError, match="at least two classes"):
        _build(class_names=["only"])


def test_no_markup_is_assembled_in_python():
    """Markup lives in the templates: no module of slicekit.reporting writes an HTML tag."""
    package = Path(__import__("slicekit.reporting", fromlist=["_"]).__file__).parent
    for module in package.glob("*.py"):
        tags = re.findall(r"</?(?:html|body|p|td|th|tr|table|div|span|img|pre|code|h\d|ul|li|figure)\b[^>]*>", module.read_text())
        assert tags == [], (module.name, tags[:3])


def test_scores_from_csv_render_like_the_tables_in_memory(tmp_path):
    """The pipeline stores the combined table as CSV; flags and reasons survive the round trip."""
    scores = combine_slice_scores(scores_with_intervals())
    scores.to_csv(tmp_path / "scores.csv", index=False)
    matrices = slice_matrices_example()
    args = (slice_coverage(matrices), slice_overlap(matrices["train"]))
    assert (
        build_slice_report(pd.read_csv(tmp_path / "scores.csv"), *args).html == build_slice_report(scores, *args).html
    )
