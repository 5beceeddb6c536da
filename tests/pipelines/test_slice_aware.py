"""The ``slice_aware`` pipeline on the real split: trains both models, persists them, scores test per slice."""

from pathlib import Path

import pytest
import yaml
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro_datasets.pandas import CSVDataset
from kedro.runner import SequentialRunner

from slicekit.datasets.atomic import AtomicDataset
from slicekit.datasets.slice_model_dataset import SliceModelDataset
from slicekit.pipelines.featurize.nodes import fit_vocabulary, vectorize
from slicekit.pipelines.slice_aware import create_pipeline
from slicekit.pipelines.slice_functions.nodes import apply_slicing_functions
from slicekit.slicing.oversampling import OversampledClassifier
from slicekit.slicing.slice_model import SliceAwareClassifier

CONF = Path(__file__).resolve().parents[2] / "conf" / "base"
SLICES = ["short_comment", "keyword_please", "regex_check_out", "short_link", "textblob_polarity"]
METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc"]


def conf(name):
    return yaml.safe_load((CONF / name).read_text())


@pytest.fixture(scope="module")
def pipeline_inputs(spam_split):
    """The catalog entries the pipeline reads, built by the upstream pipelines' own nodes."""
    featurize = conf("parameters_featurize.yml")["featurize"]
    slice_functions = {**conf("parameters_slice_functions.yml")["slice_functions"], "progress_bar": False}
    vocabulary = fit_vocabulary(spam_split[0], featurize)
    inputs = {}
    for split, comments in zip(("train", "valid", "test"), spam_split):
        inputs[f"comments_{split}"] = comments
        inputs[f"X_{split}"] = vectorize(comments, vocabulary, featurize)
        inputs[f"slice_matrix_{split}"] = apply_slicing_functions(comments, slice_functions)
    return inputs


@pytest.fixture(scope="module")
def run(pipeline_inputs, tmp_path_factory):
    parameters = conf("parameters_slice_aware.yml")["slice_aware"]
    parameters["trainer"] = {**parameters["trainer"], "n_epochs": 2, "progress_bar": False}
    models = tmp_path_factory.mktemp("models")
    catalog = DataCatalog(
        {
            **{name: MemoryDataset(data) for name, data in pipeline_inputs.items()},
            "params:slice_aware": MemoryDataset(parameters),
            "params:slice_scoring.metrics": MemoryDataset(METRICS),
            "params:slice_scoring.uncertainty": MemoryDataset(
                conf("parameters_slice_scoring.yml")["slice_scoring"]["uncertainty"]
            ),
            "slice_aware_model": SliceModelDataset(str(models / "slice_aware_model")),
            "oversampled_model": SliceModelDataset(str(models / "oversampled_model")),
            "slice_aware_slice_scores_test": MemoryDataset(),
            "oversampled_slice_scores_test": MemoryDataset(),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    return catalog, models


@pytest.mark.parametrize("table", ["slice_aware_slice_scores_test", "oversampled_slice_scores_test"])
def test_scores_have_the_baseline_tables_shape(run, table):
    scores = run[0].load(table)
    intervals = [f"{m}_{end}" for m in METRICS for end in ("low", "high")]
    assert list(scores.columns) == ["slice", "n", "n_positive", *METRICS, *intervals, "insufficient", "insufficient_reason"]
    assert scores["slice"].tolist() == ["overall", *SLICES]
    assert scores.set_index("slice")["n"].to_dict() == {
        "overall": 250, "short_comment": 92, "keyword_please": 23,
        "regex_check_out": 45, "short_link": 3, "textblob_polarity": 24,
    }
    # two epochs already beat always-ham (accuracy 0.52) by far
    assert scores.set_index("slice").loc["overall", "accuracy"] > 0.85


def test_models_are_persisted_and_reload_as_their_class(run):
    catalog, models = run
    assert {p.name for p in (models / "slice_aware_model").iterdir()} == {"config.json", "state_dict.pt"}
    slice_aware = catalog.load("slice_aware_model")
    assert isinstance(slice_aware, SliceAwareClassifier) and slice_aware.slice_names == SLICES
    assert isinstance(catalog.load("oversampled_model"), OversampledClassifier)


def test_pipeline_reads_only_catalogued_inputs_and_writes_the_catalogued_outputs():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "X_train", "X_valid", "X_test",
        "comments_train", "comments_valid", "comments_test",
        "slice_matrix_train", "slice_matrix_valid", "slice_matrix_test",
        "params:slice_aware", "params:slice_scoring.metrics", "params:slice_scoring.uncertainty",
    }
    assert pipeline.outputs() == {
        f"{model}_slice_scores_{split}"
        for model in ("slice_aware", "oversampled")
        for split in ("train", "valid", "test")
    } | {"slice_aware_predictions_test", "oversampled_predictions_test"}
    # one template per model (train, score per split, keep test predictions), in the stage's box
    assert {n.name for n in pipeline.nodes} == {
        name
        for model in ("slice_aware", "oversampled")
        for name in (
            f"slice_aware_training.{model}.train",
            f"slice_aware_training.{model}.predict_test",
            *(f"slice_aware_training.{model}.{split}.score" for split in ("train", "valid", "test")),
        )
    }


def test_project_catalog_and_parameters_configure_every_dataset_the_pipeline_names():
    config = OmegaConfigLoader(str(CONF.parent), base_env="base", default_run_env="local")
    catalog = DataCatalog.from_config(config["catalog"])
    for name in ("slice_aware_model", "oversampled_model"):
        assert isinstance(catalog[name], AtomicDataset) and catalog[name].dataset_type is SliceModelDataset
        assert catalog[name].metadata["kedro-viz"]["layer"] == "models"
    for model in ("slice_aware", "oversampled"):
        for split in ("train", "valid", "test"):
            name = f"{model}_slice_scores_{split}"
            assert isinstance(catalog[name], AtomicDataset) and catalog[name].dataset_type is CSVDataset
            assert catalog[name]._describe()["save_args"] == {"index": False}
            assert catalog[name].target == Path(f"data/08_reporting/{name}.csv")
            assert catalog[name].metadata["kedro-viz"]["layer"] == "reporting"
            assert catalog[name].metadata["slicekit"]["mlflow"]["slice_metrics"] == {"model": model, "split": split}
    parameters = config["parameters"]["slice_aware"]
    assert isinstance(parameters["seed"], int)
    assert {"model", "trainer", "oversampling", "batch_size"} <= set(parameters)
