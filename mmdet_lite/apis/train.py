"""mmdetection 2.x training entry points on mmengine's Runner."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config

from ..engine import build_runner


def set_random_seed(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and torch (all devices); ``deterministic`` also fixes cuDNN."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def train_detector(model, dataset, cfg: Config, distributed: bool = False,
                   validate: bool = False, timestamp: Optional[str] = None,
                   meta: Optional[dict] = None):
    """Train as mmdetection 2.x's ``train_detector``, on the runner built from ``cfg``.

    ``model`` (a built detector) and ``dataset`` (the built train dataset, or a list whose first
    item is it) replace what the runner would build from ``cfg.model`` / ``cfg.data.train``.
    ``distributed`` requires ``cfg.launcher`` (or torch.distributed already initialised).
    ``timestamp`` and ``meta`` are accepted for 2.x compatibility; mmengine makes its own
    timestamp, and the checkpoint meta (CLASSES, config) is written by the runner.
    Returns the runner after training.
    """
    cfg = Config(cfg.to_dict() if isinstance(cfg, Config) else dict(cfg),
                 filename=getattr(cfg, 'filename', None))
    if distributed and cfg.get('launcher', 'none') == 'none':
        cfg.launcher = 'pytorch'
    runner = build_runner(cfg, validate=validate, model=model,
                          train_dataset=dataset[0] if isinstance(dataset, (list, tuple))
                          else dataset)
    runner.train()
    return runner
