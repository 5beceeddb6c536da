"""Nodes that fit the baseline and predict with it."""

from __future__ import annotations

import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from slicekit.predictions import predictions_frame


def train_baseline(X_train: sp.csr_matrix, comments_train: pd.DataFrame, parameters: dict) -> LogisticRegression:
    """``LogisticRegression`` with the parameters in ``baseline.model``."""
    return LogisticRegression(**parameters["model"]).fit(X_train, comments_train["label"].to_numpy())


def predict_baseline(model: LogisticRegression, X: sp.csr_matrix) -> pd.DataFrame:
    """Predicted class and class probabilities per row."""
    return predictions_frame(model.predict(X), model.predict_proba(X), model.classes_)
