"""The data splits every pipeline wires, and the names of their per-slice score tables."""

SPLITS = ("train", "valid", "test")


def slice_scores_dataset(model: str, split: str) -> str:
    """``<model>_slice_scores_<split>``, for every split: one catalog factory,
    ``{model}_slice_scores_{split}``, holds them all (the report reads the test ones)."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}.")
    return slice_scores_pattern(model).format(split=split)


def slice_scores_pattern(model: str) -> str:
    """``<model>_slice_scores_{split}``: the name with its split left open, for per-split templates."""
    return f"{model}_slice_scores_{{split}}"
