"""Multi-seed experiment: ``seed_scores`` (every seed's per-slice scores), ``seed_spread`` (their
spread) and a page that shows that spread beside each model's bootstrap intervals.

Not part of ``slicing``: ``kedro run --pipelines slicing_experiment`` adds ingest, features and
slice matrices before these nodes (see ``slicekit.pipeline_registry``). It writes no
``slice_checks``, so the Model Registry hook registers and promotes nothing after it.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import render_experiment_report, score_reference_models, summarize_seed_spread, train_over_seeds

#: The inputs every training node reads (features, rows and slice matrices of the three splits).
DATA = [
    "X_train",
    "comments_train",
    "slice_matrix_train",
    "X_valid",
    "comments_valid",
    "slice_matrix_valid",
    "X_test",
    "comments_test",
    "slice_matrix_test",
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_over_seeds,
                inputs=[*DATA, "params:slice_scoring.metrics", "params:slice_aware", "params:experiment"],
                outputs="seed_scores",
                name="train_over_seeds",
            ),
            Node(
                summarize_seed_spread,
                inputs=["seed_scores", "params:experiment"],
                outputs="seed_spread",
                name="summarize_seed_spread",
            ),
            Node(
                score_reference_models,
                inputs=[
                    *DATA,
                    "params:slice_scoring.metrics",
                    "params:slice_aware",
                    "params:slice_scoring.uncertainty",
                    "params:experiment",
                ],
                outputs="experiment_reference_scores",
                name="score_reference_models",
            ),
            Node(
                render_experiment_report,
                inputs=[
                    "experiment_reference_scores",
                    "seed_spread",
                    "params:reporting",
                    "params:experiment",
                    "params:slice_aware",
                    "params:slice_scoring.uncertainty",
                    "params:data_processing",
                ],
                outputs={
                    "html": "experiment_report_html",
                    "markdown": "experiment_report_md",
                    "plot": "experiment_seed_spread_plot",
                },
                name="render_experiment_report",
            ),
        ]
    )
