"""Every output in conf/base/catalog*.yml is written through AtomicDataset, and the score tables
of every model and split come from the one ``{model}_slice_scores_{split}`` factory."""

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset

from slicekit.datasets.atomic import AtomicDataset
from slicekit.pipeline_registry import register_pipelines
from slicekit.pipelines.splits import SPLITS, slice_scores_dataset

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.fixture(scope="module")
def entries():
    return OmegaConfigLoader(str(CONF), base_env="base", default_run_env="local")["catalog"]


@pytest.fixture()
def catalog(entries):
    return DataCatalog.from_config(entries)


def test_every_output_of_every_pipeline_is_an_atomic_dataset(catalog):
    outputs = set().union(*(pipeline.all_outputs() for pipeline in register_pipelines().values()))
    assert outputs
    checked, plain = [], []
    for name in sorted(outputs):
        dataset = catalog.get(name)
        if dataset is None or isinstance(dataset, MemoryDataset):
            continue  # passed in memory between nodes: nothing is written
        checked.append(name)
        if not isinstance(dataset, AtomicDataset):
            plain.append(f"{name}: {type(dataset).__name__}")
    assert not plain, f"outputs written in place, not through AtomicDataset: {plain}"
    assert {"baseline_model", "slice_aware_model", "slice_report_html", "X_train"} <= set(checked)


def test_every_score_table_comes_from_the_factory(catalog, entries):
    for model in ("baseline", "oversampled", "slice_aware"):
        for split in SPLITS:
            name = slice_scores_dataset(model, split)
            assert name == f"{model}_slice_scores_{split}"
            dataset = catalog.get(name)
            assert isinstance(dataset, AtomicDataset)
            assert dataset.target == Path(f"data/08_reporting/{name}.csv")
            assert dataset._describe()["save_args"] == {"index": False}
    explicit = [name for name in entries if any(name.endswith(f"_slice_scores_{split}") for split in SPLITS)]
    assert explicit == [], f"per-split score entries besides the factory: {explicit}"


def test_an_unknown_split_is_refused():
    with pytest.raises(ValueError, match="holdout"):
        slice_scores_dataset("baseline", "holdout")
