"""Every model config shipped in ``configs/`` builds, and its pipelines compose.

The zoo state-dict comparison with mmdetection 2.28 runs outside CI (``../shared/tools/zoo_coverage.py``);
this guards the repository's own 2.x-dialect configs against drifting from the registries.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmdet_lite.datasets.pipelines.compose import Compose
from mmdet_lite.models.builder import build_detector

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)


def _without_pretrained(model: dict) -> dict:
    model.pop('pretrained', None)
    for key in ('backbone', 'neck'):
        part = model.get(key)
        if isinstance(part, dict) and isinstance(part.get('init_cfg'), dict):
            part['init_cfg'] = None
    return model


def test_configs_are_found():
    assert len(CONFIGS) >= 30, CONFIGS


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds_model_and_pipelines(path):
    cfg = Config.fromfile(path)
    model = build_detector(_without_pretrained(cfg.model.to_dict()))
    assert sum(p.numel() for p in model.parameters()) > 0
    data = cfg.get('data') or {}
    for split in ('train', 'val', 'test'):
        dataset = data.get(split)
        while isinstance(dataset, dict) and 'pipeline' not in dataset and 'dataset' in dataset:
            dataset = dataset['dataset']
        if isinstance(dataset, dict) and dataset.get('pipeline'):
            Compose(dataset['pipeline'])
