"""The parameters schema: every shipped file passes; each bad value is named by its key path."""

from __future__ import annotations

import pytest

from slicekit.parameters import ParameterError, Parameters, check_parameters, find_violations
from shipped_parameters import ENVIRONMENTS, load_parameters


def _set(params: dict, path: str, value) -> None:
    """Put ``value`` at the dotted ``path`` of the parameters."""
    *keys, last = path.split(".")
    target = params
    for key in keys:
        target = target[key]
    target[last] = value


def _at(params: dict, path: str) -> list[str]:
    """The messages of the violations at exactly ``path``."""
    return [v.allowed for v in find_violations(params) if v.path == path]


@pytest.mark.parametrize("env", ["local", *ENVIRONMENTS])
def test_every_shipped_environment_passes(env):
    params = load_parameters(env)
    assert set(params) <= set(Parameters.model_fields)
    assert [str(v) for v in find_violations(params)] == []
    check_parameters(params)


def test_the_penguins_environment_is_among_those_checked():
    assert "penguins" in ENVIRONMENTS


def test_empty_hidden_dims_is_named(params):
    params["slice_aware"]["model"]["hidden_dims"] = []
    with pytest.raises(ParameterError) as raised:
        check_parameters(params)
    assert "slice_aware.model.hidden_dims: got []; should have at least 1 item" in str(raised.value)


def test_a_hidden_size_below_one_is_named_by_its_index(params):
    params["slice_aware"]["model"]["hidden_dims"] = [256, 0]
    assert _at(params, "slice_aware.model.hidden_dims[1]") == ["should be greater than or equal to 1"]


def test_a_negative_learning_rate_is_named(params):
    params["slice_aware"]["trainer"]["lr"] = -0.1
    with pytest.raises(ParameterError) as raised:
        check_parameters(params)
    assert "slice_aware.trainer.lr: got -0.1; should be greater than 0" in str(raised.value)


def test_an_empty_list_of_slicing_functions_is_named(params):
    params["slice_functions"]["names"] = []
    params["slice_functions"]["declared"] = []
    assert _at(params, "slice_functions.names") == ["at least one slicing function, in names or in declared"]


def test_declared_slices_alone_are_enough(params):
    params["slice_functions"]["names"] = []
    params["slice_functions"]["declared"] = [{"name": "short", "column": "text", "word_count": {"max": 5}}]
    params["monitoring"]["checks"] = {"overall": {"f1": ">= 0.5"}, "short": {"recall": "> 0.5"}}
    assert find_violations(params) == []


def test_an_unknown_slicing_function_is_named_with_those_the_module_defines(params):
    params["slice_functions"]["names"][2] = "regex_checkout"
    [message] = _at(params, "slice_functions.names[2]")
    assert "regex_check_out" in message and "slicekit.slice_functions" in message


def test_a_name_used_twice_is_named_where_it_repeats(params):
    params["slice_functions"]["declared"] = [{"name": "short_comment", "column": "text", "char_length": {"max": 3}}]
    [message] = _at(params, "slice_functions.declared[0].name")
    assert "slice_functions.names[0]" in message


def test_a_malformed_declared_slice_is_named_by_its_index(params):
    params["slice_functions"]["declared"] = [
        {"name": "ok", "column": "text", "keywords": ["sub"]},
        {"name": "bad", "column": "text", "regex": "(unclosed"},
    ]
    [message] = _at(params, "slice_functions.declared[1]")
    assert "invalid regex" in message and "'bad'" in message


def test_a_misspelt_key_gets_a_did_you_mean(params):
    params["slice_aware"]["trainer"]["learning_rat"] = 0.1
    params["slice_aware"]["trainer"]["patiense"] = 3
    assert _at(params, "slice_aware.trainer.patiense")[0].startswith("an unknown key: did you mean 'patience'?")
    assert "known keys: n_epochs, lr," in _at(params, "slice_aware.trainer.learning_rat")[0]


def test_a_misspelt_block_gets_a_did_you_mean(params):
    params["slice_scorring"] = params.pop("slice_scoring")
    assert _at(params, "slice_scorring")[0].startswith("an unknown key: did you mean 'slice_scoring'?")


def test_every_violation_is_listed_at_once(params):
    params["slice_aware"]["model"]["hidden_dims"] = []
    params["slice_aware"]["trainer"]["lr"] = -0.1
    params["data_processing"]["split"]["kind"] = "grouped"
    params["slice_scoring"]["uncertainty"]["level"] = 1.0
    params["experiment"]["seeds"] = [1, 2, 2]
    with pytest.raises(ParameterError) as raised:
        check_parameters(params)
    paths = [v.path for v in raised.value.violations]
    assert sorted(paths) == sorted([
        "slice_aware.model.hidden_dims",
        "slice_aware.trainer.lr",
        "data_processing.split.kind",
        "slice_scoring.uncertainty.level",
        "experiment.seeds",
    ])
    text = str(raised.value)
    assert text.startswith("5 invalid parameters")
    assert "data_processing.split.kind: got 'grouped'; should be 'given', 'random', 'group' or 'time'" in text
    assert all(f"  - {path}: got " in text for path in paths)


@pytest.mark.parametrize(
    "path, value",
    [
        ("data_processing.seed", "123"),
        ("data_processing.seed", 1.5),
        ("data_processing.seed", -1),
        ("slice_aware.seed", True),
        ("slice_scoring.uncertainty.seed", 2**32),
        ("monitoring.estimation.seed", None),
    ],
)
def test_seeds_are_non_negative_ints(params, path, value):
    _set(params, path, value)
    assert [v.path for v in find_violations(params)] == [path]


@pytest.mark.parametrize(
    "path, value",
    [
        ("slice_scoring.uncertainty.level", 0.0),
        ("slice_scoring.uncertainty.level", 1.0),
        ("slice_scoring.uncertainty.fdr", 1.5),
        ("monitoring.estimation.level", 1),
        ("monitoring.drift.fdr", 0.0),
        ("slice_aware.model.dropout", 1.0),
        ("slice_discovery.search.alpha", 0.0),
    ],
)
def test_probabilities_lie_in_their_open_interval(params, path, value):
    _set(params, path, value)
    assert [v.path for v in find_violations(params)] == [path]


def test_split_sizes_are_row_counts_or_fractions(params):
    params["data_processing"]["split"]["group"]["test_size"] = 1.5
    params["data_processing"]["split"]["random"]["valid_size"] = 0
    assert _at(params, "data_processing.split.group.test_size") == ["a row count (an int >= 1) or a fraction in (0, 1)"]
    assert _at(params, "data_processing.split.random.valid_size") != []


def test_a_group_split_needs_a_group_column_and_holdout(params):
    params["data_processing"]["columns"]["group"] = None
    params["data_processing"]["split"]["group"]["holdout"] = []
    assert _at(params, "data_processing.columns.group")
    assert _at(params, "data_processing.split.group.holdout")


def test_a_time_split_needs_ordered_dates(params):
    params["data_processing"]["columns"]["time"] = "date"
    params["data_processing"]["split"]["kind"] = "time"
    params["data_processing"]["split"]["time"] = {"train_before": "2015-06-01", "valid_before": "2015-01-01"}
    assert _at(params, "data_processing.split.time.train_before") == ["a date not after valid_before (2015-01-01)"]
    params["data_processing"]["split"]["time"] = {"train_before": "2015-01-01", "valid_before": "2015-06-01"}
    assert find_violations(params) == []


def test_labels_need_class_indices_without_gaps_and_names_per_class(params):
    params["data_processing"]["labels"] = {"ham": 0, "spam": 2}
    assert _at(params, "data_processing.labels") == ["class indices 0..K-1 without gaps, e.g. {ham: 0, spam: 1}"]
    params["data_processing"]["labels"] = {"ham": 0, "spam": 1}
    params["data_processing"]["class_names"] = ["ham"]
    assert _at(params, "data_processing.class_names") == ["2 distinct names, one per class index"]


def test_three_classes_refuse_binary_only_metrics_and_liblinear(params):
    params["data_processing"]["labels"] = {"a": 0, "b": 1, "c": 2}
    params["data_processing"]["class_names"] = ["a", "b", "c"]
    paths = {v.path for v in find_violations(params)}
    assert {"slice_scoring.metrics", "reporting.metric", "baseline.model.solver"} <= paths


def test_the_baseline_takes_what_logistic_regression_takes(params):
    params["baseline"]["model"] = {"C": -1.0, "solver": "liblinear"}
    [message] = _at(params, "baseline.model")
    assert "'C' parameter of LogisticRegression" in message
    params["baseline"]["model"] = {"C": 0.5, "penalty": "l1", "solver": "liblinear", "class_weight": "balanced"}
    assert find_violations(params) == []
    params["baseline"]["model"] = {"c": 0.5}
    assert "not ['c']" in _at(params, "baseline.model")[0]


def test_the_trainer_monitor_is_loss_or_a_scored_metric(params):
    params["slice_aware"]["trainer"]["monitor"] = "f1"
    assert find_violations(params) == []
    params["slice_aware"]["trainer"]["monitor"] = "f2"
    assert _at(params, "slice_aware.trainer.monitor")


def test_monitoring_floors_are_parsed_and_their_slices_known(params):
    params["monitoring"]["checks"]["overall"]["f1"] = 0.85
    params["monitoring"]["checks"]["short_coment"] = {"f1": ">= 0.5"}
    assert _at(params, "monitoring.checks.overall.f1")[0].startswith("a floor")
    assert _at(params, "monitoring.checks.short_coment")
    params["monitoring"]["unknown_slice"] = "warn"
    assert [v.path for v in find_violations(params)] == ["monitoring.checks.overall.f1"]


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p["data_processing"]["validation"].update(min_rows={"train": 10, "test": 5}),
        lambda p: p["slice_scoring"].update(metrics="auto"),
        lambda p: p["slice_scoring"].update(metrics={"binary": ["f1"], "multiclass": None}),
        lambda p: p["slice_aware"]["oversampling"].update(slice_weights={"short_comment": 3.0}),
        lambda p: p["slice_aware"]["trainer"].update(optimizer="sgd", optimizer_config={"sgd_config": {"momentum": 0.5}}),
        lambda p: p["slice_aware"]["trainer"].update(patience=None, grad_clip=1.0),
        lambda p: p["slice_functions"].update(n_jobs=-1, engine="dask"),
        lambda p: p["data_processing"]["split"].update(kind="random"),
        lambda p: p["data_processing"]["split"]["group"].update(test_groups=[5], test_size=None),
        lambda p: p["data_processing"].update(class_names=None, labels={"0": 0, "1": 1}),
        lambda p: p["monitoring"].update(min_support=30),
        lambda p: p.pop("experiment"),
    ],
)
def test_what_the_code_accepts_the_schema_accepts(params, edit):
    edit(params)
    assert [str(v) for v in find_violations(params)] == []


def test_an_optimizer_setting_the_trainer_refuses_is_named(params):
    params["slice_aware"]["trainer"]["optimizer_config"] = {"adam_config": {"momentum": 0.9}}
    [message] = _at(params, "slice_aware.trainer")
    assert "momentum" in message


def test_a_misspelt_key_inside_a_mapping_or_int_setting_gets_a_did_you_mean(params):
    params["data_processing"]["validation"]["min_rows"] = {"train": 10, "tset": 5}
    assert _at(params, "data_processing.validation.min_rows.tset") == [
        "an unknown key: did you mean 'test'? known keys: train, valid, test"
    ]


def test_a_bad_mapping_key_is_named_as_a_key(params):
    params["registry"]["models"]["champion"] = "slicekit-champion"
    params["monitoring"]["checks"]["overall"]["f2"] = ">= 0.5"
    assert _at(params, "registry.models.champion") == ["as a key: should be 'baseline', 'slice_aware' or 'oversampled'"]
    assert _at(params, "monitoring.checks.overall.f2")[0].startswith("as a key: a metric, one of")


def test_a_broken_value_is_reported_once_not_again_by_the_rules_reading_it(params):
    params["data_processing"]["labels"]["other"] = "two"
    assert [v.path for v in find_violations(params)] == ["data_processing.labels.other"]


def _refused(call) -> bool:
    try:
        call()
    except (ValueError, TypeError):
        return True
    return False


def test_values_the_schema_refuses_are_refused_by_the_code_that_reads_them(params):
    """The schema moves the code's own refusals to the start of the run; it does not invent them."""
    import torch

    from slicekit.monitoring.estimation import Estimation
    from slicekit.slicing.backbones import mlp
    from slicekit.slicing.uncertainty import Uncertainty

    cases = [
        ("slice_aware.model.hidden_dims", [], lambda v: mlp(4, v)),
        ("slice_aware.trainer.lr", -0.1, lambda v: torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=v)),
        ("slice_scoring.uncertainty.level", 1.0, lambda v: Uncertainty.from_params({"level": v})),
        ("monitoring.estimation.metrics", ["accuracy", "roc_auc"], lambda v: Estimation.from_params({"metrics": v})),
    ]
    for path, value, consumer in cases:
        edited = {**params}
        block, *keys = path.split(".")
        edited[block] = target = dict(params[block])
        for key in keys[:-1]:
            target[key] = dict(target[key])
            target = target[key]
        target[keys[-1]] = value
        assert any(v.path.startswith(path) for v in find_violations(edited)), path
        assert _refused(lambda: consumer(value)), path


def test_the_reported_models_are_those_the_report_pipeline_reads(params):
    params["reporting"]["models"]["extra_model"] = "Extra"
    del params["reporting"]["models"]["oversampled"]
    [message] = _at(params, "reporting.models")
    assert message.startswith("a display name for exactly the models of REPORTED_MODELS")
    assert message.endswith("unknown: ['extra_model'], missing: ['oversampled']")


def test_a_key_the_nodes_read_without_default_is_required(params):
    del params["slice_aware"]["batch_size"]
    del params["slice_functions"]["progress_bar"]
    violations = {v.path: str(v) for v in find_violations(params)}
    assert violations == {
        "slice_aware.batch_size": "slice_aware.batch_size: got no value (the key is missing); this key is required",
        "slice_functions.progress_bar": "slice_functions.progress_bar: got no value (the key is missing); this key is required",
    }
