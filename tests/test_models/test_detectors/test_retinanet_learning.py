"""Learning test: a small RetinaNet (ResNet-18 FPN) overfits two synthetic images on CPU."""
import numpy as np
import torch
from torchvision.ops import box_iou

from mmdet_lite.models import build_detector

H, W = 96, 128
BOXES = [torch.tensor([[10., 12., 58., 60.], [70., 40., 118., 80.]]),
         torch.tensor([[30., 20., 100., 70.]])]
LABELS = [torch.tensor([0, 1]), torch.tensor([1])]
COLOURS = [torch.tensor([1., -1., -1.]), torch.tensor([-1., 1., -1.])]


def _images():
    """Noise in [-0.3, 0.3] with a red (class 0) or green (class 1) noisy rectangle per box."""
    g = torch.Generator().manual_seed(1)
    imgs = torch.rand(2, 3, H, W, generator=g) * 0.6 - 0.3
    for i in range(2):
        for box, label in zip(BOXES[i], LABELS[i]):
            x1, y1, x2, y2 = box.long().tolist()
            imgs[i, :, y1:y2, x1:x2] = (COLOURS[label][:, None, None]
                                        + 0.1 * torch.randn(3, y2 - y1, x2 - x1, generator=g))
    return imgs


def _metas():
    return [dict(filename=f'synthetic_{i}.png', ori_filename=f'synthetic_{i}.png',
                 ori_shape=(H, W, 3), img_shape=(H, W, 3), pad_shape=(H, W, 3),
                 scale_factor=np.ones(4, dtype=np.float32), flip=False, flip_direction=None)
            for i in range(2)]


def _model():
    # ResNet-18 at half width (base_channels=32) and a 64-channel FPN keep it CPU-cheap.
    return build_detector(dict(
        type='RetinaNet',
        backbone=dict(type='ResNet', depth=18, base_channels=32, out_indices=(0, 1, 2, 3),
                      norm_eval=True, frozen_stages=-1),
        neck=dict(type='FPN', in_channels=[32, 64, 128, 256], out_channels=64, start_level=1,
                  add_extra_convs='on_input', num_outs=5),
        bbox_head=dict(
            type='RetinaHead', num_classes=2, in_channels=64, stacked_convs=2, feat_channels=64,
            loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                          loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                     min_pos_iou=0, ignore_iof_thr=-1),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)))


def test_retinanet_overfits_two_synthetic_images(one_thread):
    # one_thread (tests/conftest.py): intra-op threads on a loaded 2-core box run ~20x slower.
    torch.manual_seed(0)
    model = _model()
    model.init_weights()
    model.train()
    imgs = _images()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for _ in range(120):
        losses = model.forward_train(imgs, _metas(), BOXES, LABELS)
        loss = sum(sum(v) for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    final = float(np.mean(history[-5:]))
    assert final <= 0.2 * history[0], (history[0], final)

    model.eval()
    with torch.no_grad():
        results = model.simple_test(imgs, _metas(), rescale=True)
    for i in range(2):
        for box, label in zip(BOXES[i], LABELS[i]):
            dets = torch.from_numpy(results[i][int(label)])
            dets = dets[dets[:, 4] >= 0.3]
            assert len(dets) > 0, f'image {i}: no class-{int(label)} detection scoring >= 0.3'
            assert box_iou(box[None], dets[:, :4]).max() >= 0.7, (i, box, dets)
