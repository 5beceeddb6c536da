"""Nodes that fit the baseline and predict with it."""

from __future__ import annotations

import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from slicekit.predictions import predictions_frame


def train_baseline(X_train: sp.csr_matrix, comments_train: pd.DataFrame, parameters: dict) -> LogisticRegression:
    """``LogisticRegression`` with the parameters in ``baseline.model``, on whichever features
    ``featurize.kind`` built; binary or multi-class (a multinomial model for 3+ classes)."""
    labels = comments_train["label"].to_numpy()
    options = dict(parameters["model"])
    n_classes = len(set(labels.tolist()))
    if n_classes > 2 and options.get("solver") == "liblinear":
        raise ValueError(
            f"baseline.model.solver 'liblinear' fits two classes only, and the training labels have "
            f"{n_classes}: set baseline.model.solver to lbfgs (or another multinomial solver)."
        )
    return LogisticRegression(**options).fit(X_train, labels)


def predict_baseline(model: LogisticRegression, X: sp.csr_matrix) -> pd.DataFrame:
    """Predicted class and class probabilities per row."""
    return predictions_frame(model.predict(X), model.predict_proba(X), model.classes_)
