"""COCO error breakdown on a hand-made case where each stage forgives one planted error."""
import os

import mmengine
import numpy as np
from pycocotools.coco import COCO

from mmdet_lite.analysis.coco_error_analysis import error_breakdown, make_bar_plot

from .tool_loader import load_tool

CATS = [dict(id=1, name='cat', supercategory='animal'),
        dict(id=2, name='dog', supercategory='animal'),
        dict(id=3, name='car', supercategory='vehicle')]
GTS = [(0, 1), (1, 1), (2, 1), (3, 2), (4, 3), (6, 1)]  # (image, category), box (10, 10, 30, 30)
DETS = [  # (image, [x, y, w, h], score): all labelled 'cat'
    (3, [10, 10, 30, 30], .95),  # on the dog: supercategory confusion (Sim)
    (4, [10, 10, 30, 30], .93),  # on the car: other class (Oth)
    (5, [10, 10, 30, 30], .91),  # on nothing (BG)
    (0, [10, 10, 30, 30], .90),  # exact: C75
    (1, [10, 10, 30, 20], .80),  # IoU 2/3: C50
    (2, [10, 10, 30, 10], .70)]  # IoU 1/3: Loc


def _write(tmp_path, cats, gts):
    images = [dict(id=i, width=100, height=100, file_name=f'{i}.jpg') for i in range(7)]
    anns = [dict(id=j + 1, image_id=i, category_id=c, bbox=[10, 10, 30, 30], area=900,
                 iscrowd=0) for j, (i, c) in enumerate(gts)]
    mmengine.dump(dict(images=images, annotations=anns, categories=cats),
                  str(tmp_path / 'gt.json'))
    mmengine.dump([dict(image_id=i, category_id=1, bbox=b, score=s) for i, b, s in DETS],
                  str(tmp_path / 'res.bbox.json'))


def test_error_stages_hand_worked(tmp_path):
    _write(tmp_path, CATS, GTS)
    coco_gt = COCO(str(tmp_path / 'gt.json'))
    ps, rs = error_breakdown(coco_gt, coco_gt.loadRes(str(tmp_path / 'res.bbox.json')))
    assert ps.shape == (7, 101, 3, 4, 1) and rs.shape == (101, )
    # 4 cats (images 0, 1, 2, 6); 101-point interpolated precision, all-area range:
    # C75: 1 TP after 3 FPs (1/4) up to recall .25; C50: + a TP at rank 5 (2/5) up to .5;
    # Loc: + rank 6 (3/6) up to .75; Sim: the dog detection ignored (3/5); Oth: the car one
    # too (3/4); BG: precision 1 up to .75; FN: 1 everywhere.
    expected = [26 * .25, 51 * .4, 76 * .5, 76 * .6, 76 * .75, 76, 101]
    np.testing.assert_allclose(ps[:, :, 0, 0, 0].sum(axis=1), expected, atol=1e-6)
    assert os.path.isfile(make_bar_plot(rs, ps, str(tmp_path), 'allclass', 'bbox'))


def test_tool_writes_the_plots(tmp_path):
    _write(tmp_path, CATS[:1], [g for g in GTS if g[1] == 1])
    out = load_tool('tools/analysis_tools/coco_error_analysis.py').main(
        [str(tmp_path / 'res.bbox.json'), str(tmp_path / 'err'), '--ann',
         str(tmp_path / 'gt.json')])
    assert out['bbox'][0, :, 0, 0, 0].sum() == 26 * .25
    files = set(os.listdir(tmp_path / 'err' / 'bbox'))
    assert files == {f'bbox-{name}-{area}.png' for name in ('cat', 'allclass')
                     for area in ('allarea', 'small', 'medium', 'large')}
