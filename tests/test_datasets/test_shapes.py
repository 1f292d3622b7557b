"""The shapes generator is deterministic and its data loads through ShapesDataset."""
import hashlib
import json
import os

import numpy as np

from mmdet_lite.datasets import build_dataset, generate_shapes


def digest(folder):
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(folder)):
        for name in sorted(files):
            path = os.path.join(root, name)
            h.update(os.path.relpath(path, folder).encode())
            h.update(open(path, 'rb').read())
    return h.hexdigest()


def test_same_bytes_twice_and_seed_matters(tmp_path):
    generate_shapes(str(tmp_path / 'a'), num_train=6, num_val=2, img_size=64, seed=1)
    generate_shapes(str(tmp_path / 'b'), num_train=6, num_val=2, img_size=64, seed=1)
    generate_shapes(str(tmp_path / 'c'), num_train=6, num_val=2, img_size=64, seed=2)
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b')
    assert digest(tmp_path / 'a') != digest(tmp_path / 'c')
    # same settings again: nothing is rewritten; other settings: regenerated
    stamp = os.path.getmtime(tmp_path / 'a' / 'shapes_meta.json')
    generate_shapes(str(tmp_path / 'a'), num_train=6, num_val=2, img_size=64, seed=1)
    assert os.path.getmtime(tmp_path / 'a' / 'shapes_meta.json') == stamp
    generate_shapes(str(tmp_path / 'a'), num_train=3, num_val=2, img_size=64, seed=1)
    assert len(os.listdir(tmp_path / 'a' / 'train')) == 3


def test_annotations_match_masks_and_dataset_loads(tmp_path):
    root = tmp_path / 'shapes'
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                dict(type='DefaultFormatBundle'),
                dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks'])]
    ds = build_dataset(dict(type='ShapesDataset', data_root=str(root),
                            ann_file='annotations/instances_train.json', pipeline=pipeline,
                            num_train=8, num_val=2, img_size=64))
    data = json.load(open(root / 'annotations' / 'instances_train.json'))
    assert [c['name'] for c in data['categories']] == ['circle', 'triangle', 'square', 'star']
    kinds = {type(a['segmentation']).__name__ for a in data['annotations']}
    assert kinds <= {'list', 'dict'} and data['annotations']
    assert len(ds) == 8 and ds.CLASSES == ('circle', 'triangle', 'square', 'star')
    for i in range(len(ds)):
        sample = ds[i]
        masks = sample['gt_masks'].masks
        assert len(masks) == len(sample['gt_bboxes']) > 0
        for box, mask in zip(sample['gt_bboxes'].numpy(), masks):
            ys, xs = np.nonzero(mask)
            # boxes are the tight boxes of the visible mask
            np.testing.assert_allclose(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def test_make_shapes_cli(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'make_shapes', os.path.join(os.path.dirname(__file__), '..', '..', 'tools', 'misc',
                                    'make_shapes.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(tmp_path / 'cli'), '--num-train', '2', '--num-val', '1', '--img-size', '48'])
    assert len(os.listdir(tmp_path / 'cli' / 'train')) == 2
