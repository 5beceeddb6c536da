from kedro.pipeline import Node, Pipeline

from .nodes import (
    batch_labels,
    check_batch,
    drift_against_training,
    estimate_batch,
    positive_rate_against_test,
    predict_batch,
    realised_vs_estimated,
    reference_predictions,
    resolve_champion,
    run_info,
    score_batch,
    slice_batch,
    summarise_batch,
    trend_batches,
    validate_batch,
)


def create_pipeline(**kwargs) -> Pipeline:
    """``new_batch`` (and ``batch_labels``) in; the champion is ``inference_champion``; the
    reference is the project's own splits (``comments_*``, ``slice_matrix_*``) scored by it."""
    return Pipeline(
        [
            Node(resolve_champion, inputs="inference_champion", outputs="inference_champion_model",
                 name="resolve_champion"),
            Node(validate_batch, inputs=["new_batch", "params:data_processing"],
                 outputs=["inference_batch", "batch_validation_report"], name="validate_batch"),
            Node(slice_batch, inputs=["inference_batch", "params:slice_functions"],
                 outputs="batch_slice_matrix", name="slice_batch"),
            Node(predict_batch, inputs=["inference_champion_model", "featurizer", "inference_batch", "batch_slice_matrix"],
                 outputs="batch_predictions", name="predict_batch"),
            Node(summarise_batch, inputs=["batch_predictions", "batch_slice_matrix", "params:monitoring"],
                 outputs="batch_slice_summary", name="summarise_batch"),
            Node(trend_batches, inputs=["batch_slice_summary", "run_history", "params:reporting"],
                 outputs=["batch_trends", "batch_trends_plot"], name="trend_batches"),
            Node(batch_labels, inputs=["inference_batch", "batch_labels", "params:data_processing"],
                 outputs="inference_batch_golds", name="batch_labels"),
            Node(score_batch, inputs=["batch_slice_matrix", "inference_batch_golds", "batch_predictions",
                                      "params:slice_scoring"],
                 outputs="batch_slice_scores", name="score_batch"),
            Node(check_batch, inputs=["batch_slice_scores", "params:monitoring"],
                 outputs="batch_slice_checks", name="check_batch"),
            Node(reference_predictions,
                 inputs=["inference_champion_model", "featurizer", "comments_train", "comments_valid", "comments_test"],
                 outputs=["champion_reference_train", "champion_reference_valid", "champion_reference_test"],
                 name="reference_predictions"),
            Node(estimate_batch,
                 inputs=["champion_reference_valid", "comments_valid", "slice_matrix_valid", "batch_slice_matrix",
                         "batch_predictions", "params:monitoring"],
                 outputs="batch_slice_estimates", name="estimate_batch"),
            Node(realised_vs_estimated, inputs=["batch_slice_estimates", "batch_slice_scores"],
                 outputs="batch_realised_vs_estimated", name="realised_vs_estimated"),
            Node(drift_against_training,
                 inputs=["comments_train", "champion_reference_train", "slice_matrix_train", "batch_predictions",
                         "batch_slice_matrix", "params:monitoring", "params:inference"],
                 outputs="slice_drift", name="drift_against_training"),
            Node(positive_rate_against_test,
                 inputs=["champion_reference_test", "slice_matrix_test", "batch_predictions", "batch_slice_matrix",
                         "params:monitoring", "params:inference"],
                 outputs="batch_positive_rate_shift", name="positive_rate_against_test"),
            Node(run_info, inputs=["inference_champion_model", "batch_validation_report", "params:inference"],
                 outputs="batch_run_info", name="batch_run_info"),
        ]
    )
