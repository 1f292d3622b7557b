"""The one path from a config + checkpoint to a detector ready to test or infer.

``init_detector``, ``tools/test.py`` and the benchmark all build their model here: the config
is copied (never modified), the model is built without fetching pretrained weights and without
its training config, the checkpoint's weights are loaded, the class names attached, and the
model is put on its device in eval mode.
"""
import copy
import os
import os.path as osp
import warnings
from pathlib import Path
from typing import Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from ..checkpoint import checkpoint_classes, load_checkpoint
from ..datasets import CocoDataset
from ..models import build_detector
from ..models.utils.fuse_conv_bn import fold_batch_norms


def default_device() -> str:
    """``'cuda:0'`` when CUDA is available, else ``'cpu'``."""
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def load_config(config: Union[str, Path, Config], cfg_options: Optional[dict] = None) -> Config:
    """A config from a file path, or a deep copy of a :class:`Config` (the caller's object is
    not modified), with ``cfg_options`` (as ``--cfg-options``) merged in."""
    if isinstance(config, (str, Path)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {str(config)!r} does not exist '
                                    f'(cwd: {os.getcwd()})')
        config = Config.fromfile(str(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file path or an mmengine Config, got '
                        f'{type(config).__name__}')
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    return config


def build_detector_from_config(config: Union[str, Path, Config],
                               checkpoint: Optional[str] = None,
                               device: Optional[str] = None,
                               cfg_options: Optional[dict] = None,
                               default_classes: Optional[Sequence[str]] = None,
                               strict: bool = False,
                               fuse_conv_bn: bool = False) -> nn.Module:
    """Build the detector of ``config``, load ``checkpoint``, in eval mode on ``device``.

    Args:
        config: Config file path or :class:`mmengine.Config` (not modified; the copy the model
            is built from, with ``cfg_options`` merged and ``model.train_cfg`` None, is kept as
            ``model.cfg``).
        checkpoint: Checkpoint file (or a name :mod:`mmdet_lite.checkpoint` resolves); None
            leaves the weights as built. No pretrained backbone is fetched either way.
        device: Default :func:`default_device`.
        cfg_options: Overrides merged into the config, as ``--cfg-options``.
        default_classes: ``model.CLASSES`` when the checkpoint's meta has no class names (e.g.
            the test dataset's); None: COCO's 80 names, with a warning.
        strict: Every key of the model must be in the checkpoint and vice versa.
        fuse_conv_bn: Fold each eval-mode BN layer into the preceding conv after loading
            (:func:`~mmdet_lite.models.utils.fuse_conv_bn.fold_batch_norms`; the state dict
            keeps its keys). ``init_detector`` and ``tools/test.py`` fold by default, through
            :func:`~mmdet_lite.apis.inference_speed.optimize_for_inference`.

    Returns:
        The detector, with ``cfg`` set and, when a checkpoint is given, ``CLASSES``.
    """
    config = load_config(config, cfg_options)
    if 'model' not in config:
        raise KeyError(f'config {config.filename!r} has no `model`; it must define '
                       'model=dict(type=..., ...)')
    device = device or default_device()
    if str(device).startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} but CUDA is not available; use device='cpu'")

    # Weights come from the checkpoint: never fetch pretrained backbones at test time.
    if 'pretrained' in config.model:
        config.model.pretrained = None
    elif config.model.get('backbone') is not None and 'init_cfg' in config.model.backbone:
        config.model.backbone.init_cfg = None
    config.model.train_cfg = None
    with DefaultScope.overwrite_default_scope('mmdet_lite'):
        model = build_detector(config.model, test_cfg=config.get('test_cfg'))

    if checkpoint is not None:
        classes = checkpoint_classes(load_checkpoint(model, str(checkpoint), map_location='cpu',
                                                     strict=strict))
        if classes is None and default_classes is not None:
            classes = tuple(default_classes)
        if classes is None:
            warnings.warn(f"checkpoint {str(checkpoint)!r} has no class names in its meta "
                          "(meta['CLASSES']); using COCO's 80 class names")
            classes = tuple(CocoDataset.CLASSES)
        model.CLASSES = classes
    if fuse_conv_bn:
        fold_batch_norms(model)
    model.cfg = config
    model.to(device)
    model.eval()
    return model
