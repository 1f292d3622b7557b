"""init_detector / inference_detector / drawing on a tiny Mask R-CNN trained in-test."""
import asyncio
import copy
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.apis import (async_inference_detector, inference_detector, init_detector,
                             result_to_dict, show_result_pyplot)
from mmdet_lite.datasets import build_dataset, mmdet_collate

SHAPES_CLASSES = ('circle', 'triangle', 'square', 'star')


@pytest.fixture(scope='module')
def model(tiny_shapes_checkpoint):
    config, checkpoint, _, _ = tiny_shapes_checkpoint
    return init_detector(config, checkpoint, device='cpu')


@pytest.fixture(scope='module')
def val_images(tiny_shapes_checkpoint):
    data_root = tiny_shapes_checkpoint[3]
    return [osp.join(data_root, 'val', f'{i:06d}.png') for i in range(2)]


def _check_result(result, img_shape):
    """A Mask R-CNN result of the 4 shapes classes at the original image size."""
    bbox_result, segm_result = result
    assert len(bbox_result) == len(SHAPES_CLASSES) == len(segm_result)
    h, w = img_shape[:2]
    for boxes, masks in zip(bbox_result, segm_result):
        assert boxes.dtype == np.float32 and boxes.shape[1] == 5
        assert len(masks) == len(boxes)
        assert all(m.shape == (h, w) and m.dtype == bool for m in masks)
        assert (boxes[:, [0, 2]] >= 0).all() and (boxes[:, [0, 2]] <= w).all()
        assert (boxes[:, [1, 3]] >= 0).all() and (boxes[:, [1, 3]] <= h).all()


def _assert_same_result(a, b, atol=1e-3):
    for boxes_a, boxes_b in zip(a[0], b[0]):
        np.testing.assert_allclose(boxes_a, boxes_b, atol=atol)
    for masks_a, masks_b in zip(a[1], b[1]):
        for ma, mb in zip(masks_a, masks_b):
            assert (ma != mb).mean() < 0.01


def test_init_detector(tiny_shapes_checkpoint, model):
    config, checkpoint, _, _ = tiny_shapes_checkpoint
    assert model.CLASSES == SHAPES_CLASSES
    assert not model.training
    assert isinstance(model.cfg, Config) and model.cfg.model.train_cfg is None
    assert next(model.parameters()).device == torch.device('cpu')
    # the weights are the checkpoint's
    from mmdet_lite.engine import load_checkpoint_safely
    state = load_checkpoint_safely(checkpoint)['state_dict']
    for name, value in model.state_dict().items():
        assert torch.equal(value, state[name]), name
    # a Config object is not modified; cfg_options are applied to the model's copy
    cfg = Config.fromfile(config)
    before = copy.deepcopy(cfg.to_dict())
    other = init_detector(cfg, checkpoint, device='cpu',
                          cfg_options={'model.test_cfg.rcnn.max_per_img': 3})
    assert cfg.to_dict() == before
    assert other.cfg.model.test_cfg.rcnn.max_per_img == 3


def test_inference_path_array_and_list(model, val_images, tiny_shapes_checkpoint, one_thread):
    path = val_images[0]
    img = mmcv.imread(path)
    from_path = inference_detector(model, path)
    _check_result(from_path, img.shape)
    assert sum(len(b) for b in from_path[0]) > 0, 'score_thr=0 keeps the top detections'
    _assert_same_result(inference_detector(model, img), from_path, atol=1e-5)
    det = result_to_dict(from_path, img.shape)
    assert det['masks'].shape == (len(det['bboxes']), ) + img.shape[:2]
    np.testing.assert_array_equal(det['scores'], np.concatenate(from_path[0])[:, 4])

    # independent path: the test dataset's own pipeline + collate + forward_test
    cfg = model.cfg
    dataset = build_dataset(dict(cfg.data.test, test_mode=True))
    index = [osp.basename(info['filename']) for info in dataset.data_infos].index(
        osp.basename(path))
    batch = mmdet_collate([dataset[index]])
    with torch.no_grad():
        expected = model(img=batch['img'], img_metas=batch['img_metas'], return_loss=False,
                         rescale=True)[0]
    _assert_same_result(from_path, expected, atol=1e-5)

    # a batch mixing a path, an array of another size: one result per input, in order
    small = mmcv.imresize(mmcv.imread(val_images[1]), (80, 48))
    results = inference_detector(model, [path, small])
    assert isinstance(results, list) and len(results) == 2
    _assert_same_result(results[0], from_path)
    _check_result(results[1], small.shape)
    _assert_same_result(results[1], inference_detector(model, small))
    assert inference_detector(model, []) == []

    async_result = asyncio.run(async_inference_detector(model, path))
    _assert_same_result(async_result, from_path, atol=1e-5)


def test_inference_bad_inputs(model):
    with pytest.raises(FileNotFoundError, match='missing.png'):
        inference_detector(model, 'missing.png')
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        inference_detector(model, np.zeros((8, 8), np.uint8))
    with pytest.raises(TypeError, match='file path or a BGR ndarray'):
        inference_detector(model, 3)
    with pytest.raises(AttributeError, match='init_detector'):
        inference_detector(torch.nn.Linear(1, 1), np.zeros((8, 8, 3), np.uint8))


def test_checkpoint_without_classes_warns_and_uses_coco(tiny_shapes_checkpoint, tmp_path):
    config, checkpoint, _, _ = tiny_shapes_checkpoint
    from mmdet_lite.engine import load_checkpoint_safely
    bare = tmp_path / 'bare.pth'
    torch.save({'state_dict': load_checkpoint_safely(checkpoint)['state_dict']}, bare)
    with pytest.warns(UserWarning, match="COCO's 80 class names"):
        model = init_detector(config, str(bare), device='cpu')
    assert len(model.CLASSES) == 80 and model.CLASSES[0] == 'person'


def _one_box_result(result, img_shape, margin=4):
    """``result`` keeping only its best detection, its box clipped to lie at least ``margin``
    px inside the image (so that all four edges are drawn) and its mask cut to that box (the
    tiny model's boxes often touch the border); returns (result, box (4,))."""
    bbox_result, segm_result = result
    h, w = img_shape[:2]
    best = None
    for c, boxes in enumerate(bbox_result):
        for i, box in enumerate(boxes):
            clipped = box.copy()
            clipped[[0, 2]] = clipped[[0, 2]].clip(margin, w - 1 - margin)
            clipped[[1, 3]] = clipped[[1, 3]].clip(margin, h - 1 - margin)
            large = clipped[2] - clipped[0] > 8 and clipped[3] - clipped[1] > 8
            if large and (best is None or box[4] > best[2][4]):
                best = (c, i, clipped)
    assert best is not None, 'the tiny model found no box of more than 8x8 px in the image'
    c, i, box = best
    x1, y1, x2, y2 = np.round(box[:4]).astype(int)
    mask = np.zeros_like(segm_result[c][i])
    mask[y1:y2 + 1, x1:x2 + 1] = segm_result[c][i][y1:y2 + 1, x1:x2 + 1]
    single_bbox = [np.zeros((0, 5), np.float32) for _ in bbox_result]
    single_segm = [[] for _ in segm_result]
    single_bbox[c] = box[None]
    single_segm[c] = [mask]
    return (single_bbox, single_segm), box[:4]


def test_drawn_image_has_input_size_and_differs_on_the_box(model, val_images, tmp_path,
                                                          one_thread):
    img = mmcv.imread(val_images[0])
    img = mmcv.imresize(img, (192, 192))  # room for the label
    result = inference_detector(model, img)
    single, box = _one_box_result(result, img.shape)
    drawn = model.show_result(img, single, score_thr=0.0)
    assert drawn.shape == img.shape and drawn.dtype == np.uint8
    x1, y1, x2, y2 = np.round(box).astype(int)
    perimeter = np.concatenate([drawn[y2, x1:x2 + 1] != img[y2, x1:x2 + 1],
                                drawn[y1:y2 + 1, x1] != img[y1:y2 + 1, x1],
                                drawn[y1:y2 + 1, x2] != img[y1:y2 + 1, x2]]).any(axis=-1)
    assert perimeter.mean() > 0.9
    # nothing changes far from the box and its label (label: at most 30 px above the box or
    # inside its top when there is no room)
    changed = (drawn != img).any(axis=-1)
    outside = np.ones(changed.shape, bool)
    outside[max(y1 - 30, 0):y2 + 3, max(x1 - 3, 0):] = False
    outside[max(y1 - 3, 0):y2 + 3, max(x1 - 3, 0):x2 + 3] = False
    assert not changed[outside].any()

    out_file = tmp_path / 'drawn.jpg'
    shown = show_result_pyplot(model, img, result, score_thr=0.0, out_file=str(out_file))
    assert shown.shape == img.shape
    assert mmcv.imread(str(out_file)).shape == img.shape
    import matplotlib.pyplot as plt
    assert not plt.get_fignums(), 'headless: no figure may be opened'
    with pytest.raises(RuntimeError, match='needs a display'):
        show_result_pyplot(model, img, result, show=True)


def test_test_time_augmentation_runs_image_by_image(tiny_shapes_checkpoint, val_images,
                                                    one_thread):
    config, checkpoint, _, _ = tiny_shapes_checkpoint
    model = init_detector(config, checkpoint, device='cpu',
                          cfg_options={'data.test.pipeline.1.flip': True})
    results = inference_detector(model, val_images)
    assert len(results) == 2
    for path, result in zip(val_images, results):
        _check_result(result, mmcv.imread(path).shape)
        _assert_same_result(result, inference_detector(model, path), atol=1e-5)
