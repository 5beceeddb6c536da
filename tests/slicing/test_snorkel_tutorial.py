"""The tutorial's section 3 (slice-aware training), as written, on Snorkel and on slicekit.

The cells below are the tutorial's (its SFs from section 1, the scorer of section 2,
then cells 20 to 24 of section 3) verbatim; only the import lines' package changes
(``snorkel.X`` -> ``slicekit.slicing``). Its two ``utils`` helpers are written here as
the snorkel-tutorials repository defines them, on the library under test's
``DictDataset``/``DictDataLoader``. To run in seconds the data are a subset of the
tutorial's split and the bag of words is capped (so ``hidden_dim`` is small).
"""

import sys
import types

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import CountVectorizer
from torch import nn

SETUP = '''
import re
from snorkel.slicing import SlicingFunction, slicing_function
from snorkel.preprocess import preprocessor
from snorkel.analysis import Scorer


@slicing_function()
def short_comment(x):
    """Ham comments are often short, such as 'cool video!'"""
    return len(x.text.split()) < 5


# Keyword-based SFs
def keyword_lookup(x, keywords):
    return any(word in x.text.lower() for word in keywords)


def make_keyword_sf(keywords):
    return SlicingFunction(
        name=f"keyword_{keywords[0]}",
        f=keyword_lookup,
        resources=dict(keywords=keywords),
    )


keyword_please = make_keyword_sf(keywords=["please", "plz"])


# Regex-based SFs
@slicing_function()
def regex_check_out(x):
    return bool(re.search(r"check.*out", x.text, flags=re.I))


@slicing_function()
def short_link(x):
    """Returns whether text matches common pattern for shortened ".ly" links."""
    return bool(re.search(r"\\w+\\.ly", x.text))


# Leverage preprocessor in SF
from textblob import TextBlob


@preprocessor(memoize=True)
def textblob_sentiment(x):
    scores = TextBlob(x.text)
    x.polarity = scores.sentiment.polarity
    return x


@slicing_function(pre=[textblob_sentiment])
def textblob_polarity(x):
    return x.polarity > 0.9

scorer = Scorer(metrics=["f1"])
sfs = [short_comment, keyword_please, regex_check_out, short_link, textblob_polarity]
from snorkel.slicing import PandasSFApplier
'''

SECTION_3 = '''
from snorkel.slicing import SliceAwareClassifier
from utils import get_pytorch_mlp

# Define model architecture
bow_dim = X_train.shape[1]
hidden_dim = bow_dim
mlp = get_pytorch_mlp(hidden_dim=hidden_dim, num_layers=2)

# Initialize slice model
slice_model = SliceAwareClassifier(
    base_architecture=mlp,
    head_dim=hidden_dim,
    slice_names=[sf.name for sf in sfs],
    scorer=scorer,
)

applier = PandasSFApplier(sfs)
S_train = applier.apply(df_train)
S_test = applier.apply(df_test)

from utils import create_dict_dataloader

BATCH_SIZE = 64

train_dl = create_dict_dataloader(X_train, Y_train, "train")
train_dl_slice = slice_model.make_slice_dataloader(
    train_dl.dataset, S_train, shuffle=True, batch_size=BATCH_SIZE
)
test_dl = create_dict_dataloader(X_test, Y_test, "train")
test_dl_slice = slice_model.make_slice_dataloader(
    test_dl.dataset, S_test, shuffle=False, batch_size=BATCH_SIZE
)

from snorkel.classification import Trainer

# For demonstration purposes, we set n_epochs=2
trainer = Trainer(n_epochs=2, lr=1e-4, progress_bar=True)
trainer.fit(slice_model, [train_dl_slice])

table = slice_model.score_slices([test_dl_slice], as_dataframe=True)
'''

PACKAGES = {
    "snorkel": {},
    "slicekit": {
        "snorkel.slicing": "slicekit.slicing",
        "snorkel.preprocess": "slicekit.slicing",
        "snorkel.analysis": "slicekit.slicing",
        "snorkel.classification": "slicekit.slicing",
    },
}


def utils_module(library: str) -> types.ModuleType:
    """The snorkel-tutorials ``utils`` helpers, on ``library``'s dict datasets."""
    if library == "snorkel":
        from snorkel.classification import DictDataLoader, DictDataset
    else:
        from slicekit.slicing import DictDataLoader, DictDataset

    def create_dict_dataloader(X, Y, split, **kwargs):
        """Create a DictDataLoader for bag of words features."""
        ds = DictDataset.from_tensors(torch.FloatTensor(X), torch.LongTensor(Y), split)
        return DictDataLoader(ds, **kwargs)

    def get_pytorch_mlp(hidden_dim, num_layers):
        layers = []
        for _ in range(num_layers):
            layers.extend([nn.Linear(hidden_dim, hidden_dim), nn.ReLU()])
        return nn.Sequential(*layers)

    module = types.ModuleType("utils")
    module.create_dict_dataloader = create_dict_dataloader
    module.get_pytorch_mlp = get_pytorch_mlp
    return module


def run_tutorial(library: str, data: dict) -> dict:
    code = SETUP + SECTION_3
    for theirs, ours in PACKAGES[library].items():
        code = code.replace(f"from {theirs} import", f"from {ours} import")
    namespace = dict(data)
    previous = sys.modules.get("utils")
    sys.modules["utils"] = utils_module(library)
    try:
        torch.manual_seed(123)
        exec(compile(code, f"<tutorial section 3 on {library}>", "exec"), namespace)
    finally:
        if previous is None:
            sys.modules.pop("utils", None)
        else:
            sys.modules["utils"] = previous
    return namespace



#: Tiny tensors: one torch thread (tests/slicing/conftest.py) is fastest on a shared machine.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(spam_split):
    train, _, test = spam_split
    df_train, df_test = train.iloc[:300], test
    vectorizer = CountVectorizer(ngram_range=(1, 1), max_features=64)
    X_train = np.asarray(vectorizer.fit_transform(df_train.text).todense())
    X_test = np.asarray(vectorizer.transform(df_test.text).todense())
    return {
        "df_train": df_train, "df_test": df_test,
        "X_train": X_train, "Y_train": df_train["label"].values,
        "X_test": X_test, "Y_test": df_test["label"].values,
    }


@pytest.fixture(scope="module")
def results(data):
    return {library: run_tutorial(library, data) for library in PACKAGES}


def test_section_3_runs_on_slicekit_and_gives_snorkels_table_shape_and_labels(results):
    theirs, mine = results["snorkel"]["table"], results["slicekit"]["table"]
    assert list(mine.columns) == list(theirs.columns) == ["label", "dataset", "split", "metric", "score"]
    assert mine.shape == theirs.shape
    for column in ["label", "dataset", "split", "metric"]:
        assert mine[column].tolist() == theirs[column].tolist()
    assert mine["label"].tolist() == [
        "task", "task_slice:short_comment_pred", "task_slice:keyword_please_pred",
        "task_slice:regex_check_out_pred", "task_slice:short_link_pred",
        "task_slice:textblob_polarity_pred", "task_slice:base_pred",
    ]
    assert set(mine["dataset"]) == {"SnorkelDataset"} and set(mine["split"]) == {"train"}
    assert mine["score"].between(0, 1).all()
    assert mine["score"].iloc[0] == mine["score"].iloc[-1]  # base is every row, as the task


def test_section_3_slice_matrices_are_identical(results):
    for name in ["S_train", "S_test"]:
        theirs, mine = results["snorkel"][name], results["slicekit"][name]
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)


def test_the_tutorial_model_scores_as_its_predictions_say(results, data):
    namespace = results["slicekit"]
    model, S = namespace["slice_model"], namespace["S_test"]
    preds = model.predict(data["X_test"].astype(np.float32))
    golds = data["Y_test"]
    scores = model.score_slices([namespace["test_dl_slice"]])
    from sklearn.metrics import f1_score

    assert scores["task/SnorkelDataset/train/f1"] == pytest.approx(f1_score(golds, preds))
    member = S["short_comment"].astype(bool)
    assert scores["task_slice:short_comment_pred/SnorkelDataset/train/f1"] == pytest.approx(
        f1_score(golds[member], preds[member])
    )
