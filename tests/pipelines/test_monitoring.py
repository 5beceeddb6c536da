"""The ``monitoring`` pipeline: the challenger's floors, its drop against the registry's champion, the wiring."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from slicekit.datasets.champion_model_dataset import ChampionModel
from slicekit.features import fit_featurizer, transform
from slicekit.monitoring import gate_passed
from slicekit.pipeline_registry import STEPS, register_pipelines
from slicekit.pipelines.baseline.nodes import predict_baseline
from slicekit.pipelines.monitoring.nodes import NO_CHAMPION, check_slices
from slicekit.pipelines.slice_scoring.nodes import score_slices
from slicekit.serving import ModelBundle, write_bundle
from slicekit.slicing import PandasSFApplier
from slicekit.slicing.sf_sources import resolve_slicing_functions

PROJECT_CONF = __import__("pathlib").Path(__file__).resolve().parents[2] / "conf" / "base"
SF_PARAMS = {"module": "slicekit.slice_functions", "names": ["short_comment", "keyword_please", "regex_check_out"]}
REGISTRY = {"challenger": "baseline", "models": {"baseline": "slicekit-baseline"}}
SCORING = {"metrics": ["accuracy", "precision", "recall", "f1"],
           "uncertainty": {"enabled": True, "resamples": 200, "level": 0.95, "seed": 0,
                           "min_support": {"rows": 20, "positives": 5}, "fdr": 0.05}}
MONITORING = {"policy": "fail", "min_support": {"rows": 20, "positives": 5},
              "checks": {"overall": {"f1": ">= 0.8"}, "short_comment": {"f1": ">= 0.5"}},
              "max_drop": {"default": 0.05, "metrics": ["f1"]}}


@pytest.fixture(scope="module")
def setup(spam_split, tmp_path_factory):
    train, _, test = spam_split
    state = fit_featurizer(train, {"kind": "count"}, "text")
    S_test = PandasSFApplier(resolve_slicing_functions(SF_PARAMS["names"], None, SF_PARAMS["module"])).apply(
        test, progress_bar=False)
    models = {
        "good": LogisticRegression(C=0.001, solver="liblinear").fit(transform(train, state), train.label),
        # trained on a tenth of the rows: a champion the challenger beats, or (as challenger) loses to
        "weak": LogisticRegression(C=0.001, solver="liblinear").fit(transform(train.iloc[::10], state),
                                                                    train.label.iloc[::10]),
    }
    root = tmp_path_factory.mktemp("bundles")
    champions = {
        key: ChampionModel("slicekit-baseline", "champion", "7", "run",
                           ModelBundle.load(write_bundle(root / key, m, state, SF_PARAMS, ["ham", "spam"],
                                                         {"text": "string"}, ["text"], name=key)))
        for key, m in models.items()
    }
    predictions = {key: predict_baseline(m, transform(test, state)) for key, m in models.items()}
    scores = {key: score_slices(S_test, test, p, SCORING) for key, p in predictions.items()}
    return test, S_test, champions, predictions, scores


def _checks(setup, challenger="good", champion=None, monitoring=MONITORING, registry=REGISTRY):
    test, S_test, champions, predictions, scores = setup
    return check_slices(test, S_test, champions.get(champion), monitoring, registry, SCORING,
                        baseline_scores=scores[challenger], baseline_predictions=predictions[challenger])


def test_without_a_champion_the_floors_decide_and_the_drops_are_skipped(setup):
    table = _checks(setup)
    floors, drops = table[table.check == "floor"], table[table.check == "max_drop"]
    assert set(floors.slice) == {"overall", "short_comment"} and set(floors.status) <= {"pass", "fail"}
    overall_f1 = setup[4]["good"].set_index("slice").loc["overall", "f1"]
    assert floors.set_index("slice").loc["overall", "value"] == overall_f1
    assert set(drops.slice) == {"overall", "short_comment", "keyword_please", "regex_check_out"}
    assert (drops.status == "skipped").all() and (drops.reason == NO_CHAMPION).all()
    assert (table.model == "baseline").all() and table.champion_version.isna().all()


def test_against_itself_as_champion_every_drop_is_zero_and_passes(setup):
    table = _checks(setup, champion="good")
    drops = table[table.check == "max_drop"]
    assert len(drops) == 4 and (drops.champion_version == "7").all()
    judged = drops[drops.status != "insufficient"]
    assert len(judged) and (judged.status == "pass").all()
    np.testing.assert_array_equal(judged.difference, 0.0)  # the bundle predicts what the node predicted
    np.testing.assert_array_equal(judged.value, judged.champion)
    assert judged[["low", "high"]].notna().all().all()  # the paired interval decided


def test_a_challenger_worse_than_the_champion_fails_its_drop_check(setup):
    table = _checks(setup, challenger="weak", champion="good",
                    monitoring={**MONITORING, "checks": {}})  # floors aside: the drop alone fails it
    overall = table[(table.check == "max_drop") & (table.slice == "overall")].iloc[0]
    assert overall.difference < -0.05 and overall.high < -0.05
    assert overall.status == "fail" and not gate_passed(table)
    # and the same pair the other way round passes
    assert gate_passed(_checks(setup, challenger="good", champion="weak", monitoring={**MONITORING, "checks": {}}))


def test_a_champion_with_other_slices_is_refused_naming_both_lists(setup):
    test, S_test, champions, predictions, scores = setup
    fewer = S_test[["short_comment", "keyword_please"]]
    with pytest.raises(ValueError, match=r"slices \['short_comment', 'keyword_please', 'regex_check_out'\].*"
                                         r"give \['short_comment', 'keyword_please'\]"):
        check_slices(test, fewer, champions["good"], {**MONITORING, "checks": {}}, REGISTRY, SCORING,
                     baseline_scores=scores["good"][scores["good"].slice != "regex_check_out"],
                     baseline_predictions=predictions["good"])


def test_a_champion_of_another_registered_name_is_refused(setup):
    registry = {"challenger": "baseline", "models": {"baseline": "my-baseline"}}
    with pytest.raises(ValueError, match="models:/slicekit-baseline@champion.*'my-baseline'"):
        _checks(setup, champion="good", registry=registry)


def test_an_unknown_challenger_is_named(setup):
    with pytest.raises(ValueError, match="registry.challenger: unknown model 'oversampled'"):
        _checks(setup, registry={"challenger": "oversampled", "models": {}})


def test_the_configured_checks_name_real_slices_and_a_registered_challenger():
    monitoring = yaml.safe_load((PROJECT_CONF / "parameters_monitoring.yml").read_text())["monitoring"]
    registry = yaml.safe_load((PROJECT_CONF / "parameters_registry.yml").read_text())["registry"]
    catalog = yaml.safe_load((PROJECT_CONF / "catalog_monitoring.yml").read_text())
    names = yaml.safe_load((PROJECT_CONF / "parameters_slice_functions.yml").read_text())["slice_functions"]["names"]
    from slicekit.monitoring import CheckConfig

    CheckConfig.from_params(monitoring, slice_names=names)  # raises on a check naming no slice
    assert registry["challenger"] in registry["models"]
    assert catalog["champion_model"]["name"] == registry["models"][registry["challenger"]]


def test_monitoring_runs_in_slicing_after_the_scores_and_before_the_report():
    pipelines = register_pipelines()
    slicing = pipelines["slicing"]
    (node,) = pipelines["monitoring"].nodes
    assert node in slicing.nodes and node.outputs == ["slice_checks"]
    produced = {out: step for step in ("slice_scoring", "slice_aware", "baseline")
                for n in pipelines[step].nodes for out in n.outputs}
    for dataset in ("baseline_slice_scores_test", "slice_aware_slice_scores_test", "slice_aware_predictions_test",
                    "baseline_predictions_test"):
        assert dataset in node.inputs and dataset in produced, dataset
    steps = list(STEPS)
    assert steps.index("slice_aware") < steps.index("monitoring") < steps.index("reporting")
