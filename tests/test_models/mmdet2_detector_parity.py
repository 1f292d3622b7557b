"""Detections parity with mmdetection 2.28 for whole detectors (``simple_test``).

A fixture ``tests/data/mmdet2_detectors/<case>.npz`` is written by mmdetection 2.28 itself
(``tests/data/mmdet2_detectors/generate.py``, run in the oracle venv) from the config
``<case>.py`` beside it. Both sides build the model from that config and fill it with
:func:`fixture_weights` (``seeded_weights`` of :mod:`mmdet2_parity`, plus classifier biases that
make a random detector detect something), so no weights are stored: the fixture holds the
2.28 model's state-dict ``checksums`` (which prove equal names, shapes and values), the input
image's checksum (the image itself is :func:`seeded_image`), the meta dict, optional
``proposals``, and 2.28's result: ``bbox_<c>`` (n, 5) per class and ``segm_<c>`` (n, H, W) bool
for models with masks.

This file is imported by the fixture script, so there is one definition of the inputs.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .mmdet2_parity import checksum, seeded_weights

FIXTURE_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data',
                       'mmdet2_detectors')

# Input of every case: a resized image whose original size differs, so that rescaling boxes
# and pasting masks at the original size are compared too.
IMG_SHAPE = (96, 128)
ORI_SHAPE = (80, 100)


def fixture_weights(model: torch.nn.Module) -> Dict[str, Tensor]:
    """Seeded weights for ``model``'s state dict, made to give a random detector plausible
    detections: every linear classifier (a ``*cls*`` module with a 2-D weight) gets bias 4 on
    its first five outputs and 0 elsewhere (foreground scores clear ``score_thr``), and the
    weights of box regressors (``*reg*`` modules) are scaled by 0.1 (boxes stay near their
    RoIs instead of collapsing over the cascade's stages)."""
    weights = seeded_weights(model)
    for name, value in weights.items():
        if name.endswith('.weight') and 'reg' in name.rsplit('.', 2)[-2]:
            weights[name] = value * 0.1
    for name, value in weights.items():
        if not name.endswith('.bias'):
            continue
        module = name[:-len('.bias')]
        weight = weights.get(module + '.weight')
        if 'cls' in module.rsplit('.', 1)[-1] and weight is not None and weight.dim() == 2:
            busy = torch.zeros_like(value)
            busy[:min(5, busy.numel())] = 4.0
            weights[name] = busy
    return weights


def seeded_image(seed: int = 1) -> Tensor:
    """The normalised input (1, 3, H, W) of ``IMG_SHAPE``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, *IMG_SHAPE, generator=g)


def seeded_proposals(num: int = 200, seed: int = 2) -> Tensor:
    """Pre-computed proposals (num, 5) ``[x1, y1, x2, y2, score]`` inside ``IMG_SHAPE``."""
    g = torch.Generator().manual_seed(seed)
    h, w = IMG_SHAPE
    xy = torch.rand(num, 2, generator=g) * torch.tensor([w * 0.8, h * 0.8])
    wh = 8 + torch.rand(num, 2, generator=g) * torch.tensor([w * 0.5, h * 0.5])
    x2y2 = torch.minimum(xy + wh, torch.tensor([float(w), float(h)]))
    scores = torch.rand(num, 1, generator=g)
    return torch.cat([xy, x2y2, scores], dim=1)


def img_meta() -> dict:
    """The meta dict of the input: resized from ``ORI_SHAPE`` to ``IMG_SHAPE``."""
    (h, w), (ori_h, ori_w) = IMG_SHAPE, ORI_SHAPE
    return dict(img_shape=(h, w, 3), ori_shape=(ori_h, ori_w, 3), pad_shape=(h, w, 3),
                batch_input_shape=(h, w),
                scale_factor=np.array([w / ori_w, h / ori_h, w / ori_w, h / ori_h],
                                      dtype=np.float32),
                flip=False, flip_direction=None, filename='synthetic.png',
                ori_filename='synthetic.png')


def config_path(case: str) -> str:
    return osp.join(FIXTURE_DIR, f'{case}.py')


def result_arrays(result, mask_shape: Tuple[int, int] = ORI_SHAPE) -> Dict[str, np.ndarray]:
    """One image's 2.x result as the fixture's arrays (``bbox_<c>``, ``segm_<c>`` and, for
    mask scoring heads' ``(segm_results, mask_scores)``, ``mask_score_<c>``)."""
    bbox, segm = result if isinstance(result, tuple) else (result, None)
    out = {f'bbox_{c}': np.asarray(b, dtype=np.float32) for c, b in enumerate(bbox)}
    if isinstance(segm, tuple):
        segm, mask_scores = segm
        for c, scores in enumerate(mask_scores):
            out[f'mask_score_{c}'] = np.asarray(scores, dtype=np.float32).reshape(-1)
    if segm is not None:
        for c, masks in enumerate(segm):
            out[f'segm_{c}'] = np.array(masks, dtype=bool).reshape(-1, *mask_shape)
    return out


def fixture_arrays(model: torch.nn.Module, result, proposals: Optional[Tensor]) -> dict:
    """Everything a fixture stores for ``model`` (2.28's, loaded with fixture weights)."""
    state = model.state_dict()
    out = dict(checksum_names=np.array(json.dumps(list(state))),
               checksums=np.stack([checksum(v) for v in state.values()]),
               img_checksum=checksum(seeded_image()),
               img_meta=np.array(json.dumps({k: (v.tolist() if hasattr(v, 'tolist') else v)
                                             for k, v in img_meta().items()})))
    if proposals is not None:
        out['proposals'] = proposals.numpy()
    out.update(result_arrays(result))
    return out


def load_fixture(case: str) -> dict:
    data = np.load(osp.join(FIXTURE_DIR, f'{case}.npz'))
    out = {k: data[k] for k in data.files}
    out['checksums'] = dict(zip(json.loads(str(data['checksum_names'])), data['checksums']))
    return out


def check_weights(model: torch.nn.Module, checksums: Dict[str, np.ndarray]) -> None:
    """Load :func:`fixture_weights` into ``model`` (strict) after checking names, shapes and
    values against the 2.28 model's checksums."""
    weights = fixture_weights(model)
    missing = sorted(set(checksums) - set(weights))
    unexpected = sorted(set(weights) - set(checksums))
    assert not missing and not unexpected, \
        f'state dict differs from 2.28: missing {missing[:5]}, unexpected {unexpected[:5]}'
    for k, v in weights.items():
        np.testing.assert_allclose(checksum(v), checksums[k], rtol=1e-6, atol=1e-6,
                                   err_msg=f'{k}: shape or seeded values differ from 2.28')
    model.load_state_dict(weights, strict=True)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def compare_results(result, fixture: dict, mask_shape: Tuple[int, int] = ORI_SHAPE) -> dict:
    """Class by class, the detections of ``result`` against 2.28's, in 2.28's order.

    Returns the figures: ``num_dets``, ``box_diff`` (px), ``score_diff`` (box and mask
    scores), ``min_mask_iou`` (1.0 without masks); asserts equal counts per class.
    """
    ours = result_arrays(result, mask_shape)
    num_classes = sum(1 for k in fixture if k.startswith('bbox_'))
    box_diff = score_diff = 0.0
    min_iou = 1.0
    num_dets = 0
    for c in range(num_classes):
        ref, got = fixture[f'bbox_{c}'], ours[f'bbox_{c}']
        assert got.shape == ref.shape, f'class {c}: {len(got)} detections, 2.28 has {len(ref)}'
        num_dets += len(ref)
        if len(ref):
            box_diff = max(box_diff, float(np.abs(got[:, :4] - ref[:, :4]).max()))
            score_diff = max(score_diff, float(np.abs(got[:, 4] - ref[:, 4]).max()))
        if f'mask_score_{c}' in fixture and len(ref):
            score_diff = max(score_diff, float(np.abs(ours[f'mask_score_{c}']
                                                      - fixture[f'mask_score_{c}']).max()))
        if f'segm_{c}' in fixture:
            ref_m, got_m = fixture[f'segm_{c}'], ours[f'segm_{c}']
            assert got_m.shape == ref_m.shape, (c, got_m.shape, ref_m.shape)
            for a, b in zip(got_m, ref_m):
                min_iou = min(min_iou, mask_iou(a, b))
    return dict(num_dets=num_dets, box_diff=box_diff, score_diff=score_diff,
                min_mask_iou=min_iou)


def proposals_of(fixture: dict) -> Optional[List[Tensor]]:
    return [torch.from_numpy(fixture['proposals'])] if 'proposals' in fixture else None
