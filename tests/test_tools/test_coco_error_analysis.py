"""COCO error breakdown on a hand-made case where each stage forgives one planted error."""
import os

import mmengine
import numpy as np

from mmdet_lite.analysis.coco_error_analysis import make_bar_plot

from .tool_loader import load_tool


def _box(x, y, w=30, h=30):
    return [x, y, w, h]


def test_error_stages_hand_worked(tmp_path):
    cats = [dict(id=1, name='cat', supercategory='animal'),
            dict(id=2, name='dog', supercategory='animal'),
            dict(id=3, name='car', supercategory='vehicle')]
    gts = [(0, 1, _box(10, 10)), (1, 1, _box(10, 10)), (2, 1, _box(10, 10)),
           (3, 2, _box(10, 10)), (4, 3, _box(10, 10)), (6, 1, _box(10, 10))]
    images = [dict(id=i, width=100, height=100, file_name=f'{i}.jpg') for i in range(7)]
    anns = [dict(id=j + 1, image_id=i, category_id=c, bbox=b, area=b[2] * b[3], iscrowd=0)
            for j, (i, c, b) in enumerate(gts)]
    mmengine.dump(dict(images=images, annotations=anns, categories=cats),
                  str(tmp_path / 'gt.json'))
    dets = [  # (image, box, score): all labelled 'cat'
        (3, _box(10, 10), .95),           # on the dog: supercategory confusion (Sim)
        (4, _box(10, 10), .93),           # on the car: other class (Oth)
        (5, _box(10, 10), .91),           # on nothing (BG)
        (0, _box(10, 10), .90),           # exact: C75
        (1, _box(10, 10, 30, 20), .80),   # IoU 2/3: C50
        (2, _box(10, 10, 30, 10), .70)]   # IoU 1/3: Loc
    mmengine.dump([dict(image_id=i, category_id=1, bbox=b, score=s) for i, b, s in dets],
                  str(tmp_path / 'res.bbox.json'))
    out = load_tool('tools/analysis_tools/coco_error_analysis.py').main(
        [str(tmp_path / 'res.bbox.json'), str(tmp_path / 'err'), '--ann',
         str(tmp_path / 'gt.json')])
    ps = out['bbox']
    assert ps.shape == (7, 101, 3, 4, 1)
    # 4 cats (images 0, 1, 2, 6); 101-point interpolated precision, all-area range:
    # C75: 1 TP after 3 FPs (1/4) up to recall .25; C50: + a TP at rank 5 (2/5) up to .5;
    # Loc: + rank 6 (3/6) up to .75; Sim: the dog detection ignored (3/5); Oth: the car one
    # too (3/4); BG: precision 1 up to .75; FN: 1 everywhere.
    expected = [26 * .25, 51 * .4, 76 * .5, 76 * .6, 76 * .75, 76, 101]
    np.testing.assert_allclose(ps[:, :, 0, 0, 0].sum(axis=1), expected, atol=1e-6)
    files = set(os.listdir(tmp_path / 'err' / 'bbox'))
    for name in ('cat', 'dog', 'car', 'allclass'):
        for area in ('allarea', 'small', 'medium', 'large'):
            assert f'bbox-{name}-{area}.png' in files
    rs = np.linspace(0, 1, 101)
    assert os.path.isfile(make_bar_plot(rs, ps, str(tmp_path), 'allclass', 'bbox'))
