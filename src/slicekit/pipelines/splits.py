"""The data splits every pipeline wires, and the names of their per-slice score tables."""

SPLITS = ("train", "valid", "test")


def slice_scores_dataset(model: str, split: str) -> str:
    """``<model>_slice_scores_<split>``, for every split: one catalog factory,
    ``{model}_slice_scores_{split}``, holds them all (the report reads the test ones)."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}.")
    return f"{model}_slice_scores_{split}"
