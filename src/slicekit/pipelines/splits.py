"""The data splits every pipeline wires, and the names of their per-slice score tables."""

SPLITS = ("train", "valid", "test")


def slice_scores_dataset(model: str, split: str) -> str:
    """``<model>_slice_scores`` for test (the table the report and the README show),
    ``<model>_slice_scores_<split>`` for train and valid."""
    return f"{model}_slice_scores" if split == "test" else f"{model}_slice_scores_{split}"
