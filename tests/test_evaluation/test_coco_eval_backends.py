"""faster-coco-eval gives pycocotools' numbers; 'auto' picks it when installed and says so."""
import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from mmdet_lite.analysis.eval_benchmark import make_eval_case
from mmdet_lite.core.mask.utils import encode_mask_results
from mmdet_lite.datasets import CocoDataset
from mmdet_lite.datasets.coco_results import segm2json
from mmdet_lite.evaluation import resolve_backend, run_coco_eval



@pytest.fixture(scope='module')
def case():
    gt, results = make_eval_case(num_images=6, height=48, width=64, gts_per_img=5,
                                 dets_per_img=30, num_classes=4, seed=3)
    gt['annotations'][0]['iscrowd'] = 1                 # a crowd region, as COCO has
    coco = COCO()
    coco.dataset = gt
    coco.createIndex()
    encoded = [(bbox, encode_mask_results(segm)) for bbox, segm in results()]
    img_ids = [img['id'] for img in gt['images']]
    cat_ids = [c['id'] for c in gt['categories']]
    bbox_json, segm_json = segm2json(encoded, img_ids, cat_ids)
    return gt, coco, encoded, bbox_json, segm_json, img_ids, cat_ids


@pytest.mark.parametrize('iou_type', ['bbox', 'segm'])
def test_faster_equals_pycocotools(case, iou_type):
    _, coco, _, bbox_json, segm_json, img_ids, cat_ids = case
    preds = bbox_json if iou_type == 'bbox' else [
        {k: v for k, v in p.items() if k != 'bbox'} for p in segm_json]
    ref = run_coco_eval(coco, preds, iou_type, cat_ids, img_ids, backend='pycocotools')
    fast = run_coco_eval(coco, preds, iou_type, cat_ids, img_ids, backend='faster')
    assert (ref.backend, fast.backend) == ('pycocotools', 'faster')
    assert 0.05 < ref.stats[0] < 0.95                   # a non-trivial case
    np.testing.assert_allclose(fast.stats, ref.stats, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.precision, ref.precision, rtol=0, atol=1e-12)
    assert fast.summary == ref.summary


def test_proposal_recall_equal(case):
    _, coco, _, bbox_json, _, img_ids, cat_ids = case
    outs = [run_coco_eval(coco, bbox_json, 'bbox', cat_ids, img_ids, max_dets=(5, 10, 20),
                          use_cats=False, backend=b) for b in ('pycocotools', 'faster')]
    np.testing.assert_allclose(outs[1].stats, outs[0].stats, rtol=0, atol=1e-12)


def test_auto_uses_faster_when_installed_and_logs_it(case, tmp_path, capsys):
    gt, _, encoded, *_ = case
    assert resolve_backend('auto') == 'faster'          # faster-coco-eval: tests extra
    assert resolve_backend('pycocotools') == 'pycocotools'
    with pytest.raises(ValueError, match='unknown COCO evaluation backend'):
        resolve_backend('fast')
    (tmp_path / 'gt.json').write_text(json.dumps(gt))
    dataset = CocoDataset(ann_file='gt.json', pipeline=[], data_root=str(tmp_path),
                          test_mode=True, classes=tuple(c['name'] for c in gt['categories']))
    auto = dataset.evaluate(encoded, metric=['bbox', 'segm'])
    assert 'bbox: COCO evaluation by faster' in capsys.readouterr().out
    ref = dataset.evaluate(encoded, metric=['bbox', 'segm'], backend='pycocotools')
    assert 'segm: COCO evaluation by pycocotools' in capsys.readouterr().out
    assert auto.keys() == ref.keys()
    for key, value in ref.items():
        if isinstance(value, str):
            assert auto[key] == value
        else:
            assert auto[key] == pytest.approx(value, abs=1e-12)
