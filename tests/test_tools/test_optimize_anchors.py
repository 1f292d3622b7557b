"""optimize_anchors: on a dataset of tall boxes both optimisers lower the anchor/GT mismatch of
YOLOv3's COCO anchors, and the anchors they find are tall."""
import json

import numpy as np
import pytest
import torch

from mmdet_lite.analysis.anchor_optimizer import anchor_mismatch, centred_iou

from .tool_loader import REPO, load_tool

CONFIG = '''
_base_ = {repo!r} + '/configs/yolov3_d53_mstrain-608_273e.py'
data = dict(train=dict(_delete_=True, type='CocoDataset', ann_file={ann!r}, img_prefix='',
                       classes=('pole', ), pipeline=[]))
'''


def test_anchor_mismatch_hand_worked():
    assert anchor_mismatch(np.array([[10, 20]]), [[10, 20], [5, 5]]) == pytest.approx(0)
    # a 10x20 box and a 10x10 anchor, centred: IoU 100 / 200
    assert anchor_mismatch(np.array([[10, 20]]), [[10, 10]]) == pytest.approx(0.5)
    # the tensor path (used on a GPU) computes the same numbers
    whs, anchors = np.array([[10., 20.], [3., 4.]]), np.array([[10., 10.], [4., 3.], [1., 9.]])
    np.testing.assert_allclose(centred_iou(torch.tensor(whs), torch.tensor(anchors)).numpy(),
                               centred_iou(whs, anchors))
    assert centred_iou(whs, anchors)[1, 1] == pytest.approx(9 / 15)


@pytest.mark.parametrize('algorithm,iters', [('k-means', 100), ('differential_evolution', 30)])
def test_tall_boxes_lower_the_mismatch(tmp_path, algorithm, iters):
    rng = np.random.default_rng(0)
    images, anns = [], []
    for i in range(30):  # 128x128 images with 2 tall boxes each (w 6-16, h 60-120)
        images.append(dict(id=i, file_name=f'{i}.jpg', width=128, height=128))
        for _ in range(2):
            w, h = rng.uniform(6, 16), rng.uniform(60, 120)
            anns.append(dict(id=len(anns) + 1, image_id=i, category_id=1, iscrowd=0,
                             bbox=[4, 4, w, h], area=w * h))
    with open(tmp_path / 'ann.json', 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=[dict(id=1, name='pole')]), f)
    config = tmp_path / 'cfg.py'
    config.write_text(CONFIG.format(repo=REPO, ann=str(tmp_path / 'ann.json')))
    anchors, before, after = load_tool('tools/analysis_tools/optimize_anchors.py').main(
        [str(config), '--algorithm', algorithm, '--iters', str(iters), '--device', 'cpu',
         '--seed', '0', '--output-dir', str(tmp_path / 'out')])
    assert len(anchors) == 9
    assert before > 0.5 and after < before - 0.3, (before, after)
    # every anchor some box is matched to is tall (an unused anchor does not count)
    whs = np.array([a['bbox'][2:] for a in anns]) * 608 / 128
    used = set(centred_iou(whs, np.array(anchors)).argmax(1).tolist())
    assert all(anchors[i][1] > 2 * anchors[i][0] for i in used), anchors
    saved = json.loads((tmp_path / 'out' / 'anchor_optimize_result.json').read_text())
    assert saved == [[round(w), round(h)] for w, h in anchors]
