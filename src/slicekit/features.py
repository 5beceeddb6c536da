"""Featurizers chosen by configuration, fit on train and stored as plain JSON state.

Every model reads one float32 CSR matrix per split, whatever the data. The kinds:

* ``count``: term counts (scikit-learn's ``CountVectorizer``; state: the vocabulary);
* ``tfidf``: the same counts weighted by TF-IDF (state: vocabulary and idf weights);
* ``hashing``: hashed term counts (``HashingVectorizer``): nothing learnt, nothing
  stored but the parameters, for large or streaming data;
* ``columns``: tabular data: numeric columns standardized with the train mean and
  standard deviation (a missing value becomes the train mean, i.e. 0), each with a 0/1
  "missing" column beside it (always there, so the columns do not depend on which rows
  the split put in train), categorical
  columns one-hot over the categories seen in train (unseen or missing: all zeros).

:func:`fit_featurizer` returns the state (JSON-serialisable: no pickles) and
:func:`transform` re-applies it to any split, so valid and test get exactly the
columns learnt on train.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfTransformer

KINDS = ("count", "tfidf", "hashing", "columns")
TEXT_KINDS = ("count", "tfidf", "hashing")
TFIDF_DEFAULTS = {"norm": "l2", "use_idf": True, "smooth_idf": True, "sublinear_tf": False}
HASHING_DEFAULTS = {"n_features": 2**14, "alternate_sign": False, "norm": None}


class FeaturizerError(ValueError):
    """The featurize configuration or the data does not fit: the message names the setting or column."""


def _text_params(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ngram_range": [int(n) for n in config.get("ngram_range", (1, 1))],
        "lowercase": bool(config.get("lowercase", True)),
    }


def _options(config: Mapping[str, Any], kind: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    given = dict(config.get(kind) or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise FeaturizerError(f"featurize.{kind}: unknown option(s) {unknown}; known: {sorted(defaults)}.")
    return {**defaults, **given}


def _texts(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        raise FeaturizerError(
            f"featurize: the text column {column!r} is not in the data; it has {[str(c) for c in frame.columns]}."
        )
    values = frame[column].tolist()
    bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if bad:
        i = bad[0]
        raise FeaturizerError(
            f"featurize: column {column!r} holds {values[i]!r} at row {frame.index[i]!r} "
            f"(position {i}); text featurizers need a string in every row."
        )
    return values


def _count_vectorizer(params: Mapping[str, Any], vocabulary: Mapping[str, int] | None = None) -> CountVectorizer:
    return CountVectorizer(
        ngram_range=tuple(params["ngram_range"]), lowercase=params["lowercase"], vocabulary=vocabulary
    )


def _hashing_vectorizer(params: Mapping[str, Any]) -> HashingVectorizer:
    return HashingVectorizer(
        ngram_range=tuple(params["ngram_range"]),
        lowercase=params["lowercase"],
        n_features=int(params["n_features"]),
        alternate_sign=bool(params["alternate_sign"]),
        norm=params["norm"],
    )


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def _column_roles(
    frame: pd.DataFrame, config: Mapping[str, Any], feature_columns: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """(numeric, categorical) columns: ``featurize.columns`` when given, else
    ``feature_columns`` split by the train dtype."""
    roles = dict(config.get("columns") or {})
    unknown = sorted(set(roles) - {"numeric", "categorical"})
    if unknown:
        raise FeaturizerError(f"featurize.columns: unknown key(s) {unknown}; use numeric and categorical.")
    numeric, categorical = roles.get("numeric"), roles.get("categorical")
    if numeric is None and categorical is None:
        if not feature_columns:
            raise FeaturizerError(
                "featurize.kind is 'columns' but no feature columns are named: set "
                "data_processing.columns.features, or featurize.columns.numeric / categorical."
            )
        missing = [c for c in feature_columns if c not in frame.columns]
        if missing:
            raise FeaturizerError(f"featurize: feature column(s) {missing} are not in the data.")
        numeric = [c for c in feature_columns if _is_numeric(frame[c])]
        categorical = [c for c in feature_columns if c not in numeric]
    numeric, categorical = list(numeric or []), list(categorical or [])
    missing = [c for c in numeric + categorical if c not in frame.columns]
    if missing:
        raise FeaturizerError(
            f"featurize.columns: column(s) {missing} are not in the data; it has {[str(c) for c in frame.columns]}."
        )
    not_numbers = [c for c in numeric if not _is_numeric(frame[c])]
    if not_numbers:
        raise FeaturizerError(f"featurize.columns.numeric: column(s) {not_numbers} are not numeric.")
    if not numeric and not categorical:
        raise FeaturizerError("featurize.columns: no numeric or categorical column to featurize.")
    return numeric, categorical


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=float, na_value=np.nan)


def _categories(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column].to_numpy(dtype=object)
    return np.array([None if pd.isna(v) else str(v) for v in values], dtype=object)


def _fit_columns(frame: pd.DataFrame, config: Mapping[str, Any], feature_columns: Sequence[str] | None) -> dict:
    numeric, categorical = _column_roles(frame, config, feature_columns)
    state: dict[str, Any] = {"kind": "columns", "params": {}, "numeric": [], "categorical": []}
    for column in numeric:
        values = _numbers(frame, column)
        present = values[~np.isnan(values)]
        mean = float(present.mean()) if len(present) else 0.0
        scale = float(present.std()) if len(present) else 1.0
        state["numeric"].append({"column": column, "mean": mean, "scale": scale if scale > 0 else 1.0})
    for column in categorical:
        seen = {v for v in _categories(frame, column) if v is not None}
        state["categorical"].append({"column": column, "categories": sorted(seen)})
    state["feature_names"] = _column_feature_names(state)
    return state


def _column_feature_names(state: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for spec in state["numeric"]:
        names += [spec["column"], f"{spec['column']}_missing"]
    for spec in state["categorical"]:
        names += [f"{spec['column']}={category}" for category in spec["categories"]]
    return names


def _transform_columns(frame: pd.DataFrame, state: Mapping[str, Any]) -> sp.csr_matrix:
    blocks: list[np.ndarray] = []
    for spec in state["numeric"]:
        values = _numbers(frame, spec["column"])
        missing = np.isnan(values)
        blocks.append(np.where(missing, 0.0, (values - spec["mean"]) / spec["scale"]))
        blocks.append(missing.astype(float))
    for spec in state["categorical"]:
        values = _categories(frame, spec["column"])
        blocks += [(values == category).astype(float) for category in spec["categories"]]
    matrix = np.column_stack(blocks) if blocks else np.zeros((len(frame), 0))
    return sp.csr_matrix(matrix.astype(np.float32))


def fit_featurizer(
    frame: pd.DataFrame,
    config: Mapping[str, Any],
    text_column: str | None = "text",
    feature_columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The featurizer ``config["kind"]`` fit on ``frame`` (train), as JSON-ready state."""
    kind = config.get("kind", "count")
    if kind not in KINDS:
        raise FeaturizerError(f"featurize.kind must be one of {KINDS}, got {kind!r}.")
    if kind == "columns":
        return _fit_columns(frame, config, feature_columns)
    if not text_column:
        raise FeaturizerError(
            f"featurize.kind {kind!r} needs a text column: set data_processing.columns.text "
            "(or use kind 'columns' for tabular data)."
        )
    params = _text_params(config)
    state: dict[str, Any] = {"kind": kind, "text_column": text_column, "params": params}
    if kind == "hashing":
        state["params"] = {**params, **_options(config, "hashing", HASHING_DEFAULTS)}
        _texts(frame, text_column)  # same checks on train as the other kinds
        return state
    options = _options(config, "tfidf", TFIDF_DEFAULTS) if kind == "tfidf" else {}
    texts = _texts(frame, text_column)
    vectorizer = _count_vectorizer(params).fit(texts)
    state["vocabulary"] = {term: int(index) for term, index in sorted(vectorizer.vocabulary_.items())}
    if kind == "tfidf":
        state["params"] = {**params, **options}
        counts = _count_vectorizer(params, state["vocabulary"]).transform(texts)
        transformer = TfidfTransformer(**options).fit(counts)
        state["idf"] = transformer.idf_.tolist() if options["use_idf"] else None
    return state


def transform(frame: pd.DataFrame, state: Mapping[str, Any]) -> sp.csr_matrix:
    """``frame``'s features under a fitted state, as a float32 CSR matrix (rows follow ``frame``)."""
    kind = state.get("kind")
    if kind == "columns":
        return _transform_columns(frame, state)
    if kind not in TEXT_KINDS:
        raise FeaturizerError(f"Unknown featurizer kind {kind!r} in the stored state; expected one of {KINDS}.")
    texts = _texts(frame, state["text_column"])
    params = state["params"]
    if kind == "hashing":
        return sp.csr_matrix(_hashing_vectorizer(params).transform(texts), dtype="float32")
    counts = _count_vectorizer(params, state["vocabulary"]).transform(texts)
    if kind == "count":
        return sp.csr_matrix(counts, dtype="float32")
    options = {key: params[key] for key in TFIDF_DEFAULTS}
    transformer = TfidfTransformer(**options)
    if options["use_idf"]:
        transformer.idf_ = np.asarray(state["idf"], dtype=float)
    else:
        transformer.fit(counts)  # learns nothing from the data without idf
    return sp.csr_matrix(transformer.transform(counts), dtype="float32")


def feature_names(state: Mapping[str, Any]) -> list[str] | None:
    """Names of the columns :func:`transform` produces (None for ``hashing``: hashed buckets)."""
    if state["kind"] == "columns":
        return list(state["feature_names"])
    if state["kind"] == "hashing":
        return None
    return [term for term, _ in sorted(state["vocabulary"].items(), key=lambda item: item[1])]
