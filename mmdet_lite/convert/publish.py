"""Publish a checkpoint: keep the weights and meta, drop the training state, name the file
after its content hash (mmdetection 2.x ``publish_model.py``)."""
import hashlib
import os
import os.path as osp
from typing import Dict

import torch

from ..checkpoint import load_checkpoint_safely

# Training-state entries of mmengine (and mmcv 1.x) checkpoints that inference does not need.
TRAINING_STATE_KEYS = ('optimizer', 'message_hub', 'param_schedulers', 'ema_state_dict')


def strip_training_state(checkpoint: Dict) -> Dict:
    """A copy of ``checkpoint`` without optimizer, message hub and scheduler state."""
    if 'state_dict' not in checkpoint:
        raise KeyError("the checkpoint has no 'state_dict'; is it a training checkpoint "
                       '(a dict with state_dict and meta)?')
    return {k: v for k, v in checkpoint.items() if k not in TRAINING_STATE_KEYS}


def sha256_of_file(path: str, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()


def publish_checkpoint(in_file: str, out_file: str) -> str:
    """Write the stripped checkpoint as ``<out_file without .pth>-<sha256[:8]>.pth``.

    Returns:
        The path of the published file.
    """
    checkpoint = strip_training_state(load_checkpoint_safely(in_file))
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    # Written under a temporary name, renamed once complete: no half-written file is published.
    tmp_file = stem + '.publishing.tmp'
    try:
        torch.save(checkpoint, tmp_file)
        final_file = f'{stem}-{sha256_of_file(tmp_file)[:8]}.pth'
        os.replace(tmp_file, final_file)
    finally:
        if osp.exists(tmp_file):
            os.remove(tmp_file)
    return final_file
