"""The project's own parameters, merged per environment as a run merges them."""

from __future__ import annotations

import copy
from pathlib import Path

from kedro.config import OmegaConfigLoader

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONF = PROJECT_ROOT / "conf"
#: Every shipped environment with parameters of its own (base alone is checked as `local`).
ENVIRONMENTS = sorted(
    p.name for p in CONF.iterdir() if p.is_dir() and p.name not in ("base", "local") and any(p.glob("parameters*"))
)


def load_parameters(env: str = "local") -> dict:
    """``parameters`` as ``kedro run --env <env>`` merges them from the project's conf/."""
    loader = OmegaConfigLoader(conf_source=str(CONF), base_env="base", default_run_env="local", env=env)
    return copy.deepcopy(dict(loader["parameters"]))
