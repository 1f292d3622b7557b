"""CocoDataset.evaluate vs pycocotools' COCOeval run directly on the dumped JSON."""
import json
import os.path as osp

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmdet_lite.core import encode_mask_results
from mmdet_lite.datasets import build_dataset

H, W = 40, 60


def rect_mask(x1, y1, x2, y2):
    m = np.zeros((H, W), np.uint8)
    m[y1:y2, x1:x2] = 1
    return m


GT = [  # image id, category id, box xyxy
    (1, 1, (2, 3, 20, 30)), (1, 2, (30, 5, 58, 25)),
    (2, 1, (10, 10, 40, 35)), (2, 1, (0, 0, 8, 8)),
    (3, 2, (5, 5, 50, 38)),
]
# per image: list of (class index, box, score); deliberately imperfect
DETS = {
    1: [(0, (3, 3, 21, 29), 0.9), (1, (28, 6, 55, 26), 0.8), (1, (0, 0, 10, 10), 0.3)],
    2: [(0, (12, 11, 40, 33), 0.7), (0, (1, 1, 9, 9), 0.6), (1, (10, 10, 40, 35), 0.4)],
    3: [(1, (8, 4, 45, 30), 0.95)],
}


@pytest.fixture
def coco_files(tmp_path):
    images = [dict(id=i, file_name=f'{i}.png', width=W, height=H) for i in (1, 2, 3)]
    anns = []
    for k, (img_id, cat, (x1, y1, x2, y2)) in enumerate(GT):
        rle = mask_utils.encode(np.asfortranarray(rect_mask(x1, y1, x2, y2)))
        rle['counts'] = rle['counts'].decode()
        anns.append(dict(id=k + 1, image_id=img_id, category_id=cat, iscrowd=0,
                         bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1),
                         segmentation=rle))
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=[
        dict(id=1, name='a'), dict(id=2, name='b')])))
    return tmp_path, str(path)


def build(root):
    return build_dataset(dict(type='CocoDataset', ann_file='gt.json', data_root=str(root),
                              classes=('a', 'b'), pipeline=[], test_mode=True))


def make_results(with_masks):
    results = []
    for img_id in (1, 2, 3):
        boxes = [np.zeros((0, 5), np.float32) for _ in range(2)]
        segms = [[] for _ in range(2)]
        for cls, (x1, y1, x2, y2), score in DETS[img_id]:
            boxes[cls] = np.vstack([boxes[cls], [[x1, y1, x2, y2, score]]]).astype(np.float32)
            segms[cls].append(rect_mask(x1, y1, x2, y2).astype(bool))
        results.append((boxes, encode_mask_results(segms)) if with_masks else boxes)
    return results


def direct_cocoeval(gt_path, res_path, iou_type):
    gt = COCO(gt_path)
    dets = json.load(open(res_path))
    if iou_type == 'segm':
        for d in dets:
            d.pop('bbox')
    ev = COCOeval(gt, gt.loadRes(dets), iou_type)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev.stats


@pytest.mark.parametrize('backend', ['pycocotools', 'faster'])
def test_bbox_and_segm_equal_direct_cocoeval(coco_files, backend):
    root, gt_path = coco_files
    ds = build(root)
    prefix = str(root / 'out')
    out = ds.evaluate(make_results(True), metric=['bbox', 'segm'], jsonfile_prefix=prefix,
                      classwise=True, backend=backend)
    assert osp.isfile(prefix + '.bbox.json') and osp.isfile(prefix + '.segm.json')
    names = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l']
    for metric in ('bbox', 'segm'):
        stats = direct_cocoeval(gt_path, f'{prefix}.{metric}.json', metric)
        for i, name in enumerate(names):
            assert out[f'{metric}_{name}'] == pytest.approx(stats[i], abs=1e-6), (metric, name)
        assert out[f'{metric}_mAP_copypaste'] == ' '.join(f'{v:.3f}' for v in stats[:6])
    assert 0 < out['bbox_mAP'] < 1
    # identical boxes and masks: same AP
    assert out['segm_mAP_50'] == pytest.approx(out['bbox_mAP_50'])


def test_results_json_content(coco_files):
    root, _ = coco_files
    ds = build(root)
    files, tmp = ds.format_results(make_results(False), jsonfile_prefix=str(root / 'r'))
    assert tmp is None and files['bbox'] == str(root / 'r') + '.bbox.json'
    dets = json.load(open(files['bbox']))
    assert len(dets) == 7
    assert dets[0] == dict(image_id=1, bbox=[3.0, 3.0, 18.0, 26.0], score=pytest.approx(0.9),
                           category_id=1)


def test_proposal_metrics_equal_direct_cocoeval(coco_files):
    root, gt_path = coco_files
    ds = build(root)
    proposals = [np.vstack(r) for r in make_results(False)]
    prefix = str(root / 'p')
    out = ds.evaluate(proposals, metric=['proposal', 'proposal_fast'], jsonfile_prefix=prefix)
    gt = COCO(gt_path)
    ev = COCOeval(gt, gt.loadRes(prefix + '.proposal.json'), 'bbox')
    ev.params.useCats = 0
    ev.params.maxDets = [100, 300, 1000]
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    for i, name in enumerate(['AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000',
                              'AR_l@1000']):
        assert out[name] == pytest.approx(ev.stats[6 + i], abs=1e-6)
    # proposal_fast: recall of 5 GTs averaged over IoU 0.5:0.95 (overwrites AR@N keys)
    assert 0 < out['AR@100'] <= 1


def test_no_detections_gives_zeros_and_message(coco_files, capsys):
    root, _ = coco_files
    ds = build(root)
    empty = [([np.zeros((0, 5), np.float32)] * 2, [[], []]) for _ in range(3)]
    out = ds.evaluate(empty, metric=['bbox', 'segm'])
    assert out['bbox_mAP'] == 0.0 and out['segm_mAP_50'] == 0.0
    assert out['bbox_mAP_copypaste'] == '0.000 0.000 0.000 0.000 0.000 0.000'
    out = ds.evaluate([np.zeros((0, 5), np.float32)] * 3, metric='proposal')
    assert out['AR@100'] == 0.0


def test_bad_metric_and_result_count(coco_files):
    root, _ = coco_files
    ds = build(root)
    with pytest.raises(KeyError, match='not supported'):
        ds.evaluate(make_results(False), metric='mAP')
    with pytest.raises(ValueError, match='2 results for a dataset of 3'):
        ds.evaluate(make_results(False)[:2])
    with pytest.raises(KeyError, match='segm results are missing'):
        ds.evaluate(make_results(False), metric='segm')
    with pytest.raises(ValueError, match='num_classes'):
        ds.evaluate([[np.zeros((0, 5), np.float32)] * 3] * 3)


def test_dataset_metric_returns_numeric_items(coco_files):
    from mmdet_lite.engine import DatasetMetric
    root, _ = coco_files
    metric = DatasetMetric(dataset=dict(type='CocoDataset', ann_file='gt.json',
                                        data_root=str(root), classes=('a', 'b'), pipeline=[]),
                           metric=['bbox', 'segm'], interval=1, save_best='auto')
    results = make_results(True)
    # bitmaps are RLE-encoded on the way in
    raw = [(r[0], [[mask_utils.decode(m).astype(bool) for m in c] for c in r[1]]) for r in results]
    metric.process({}, raw[:2])
    metric.process({}, raw[2:])
    values = metric.compute_metrics(metric.results)
    direct = build(root).evaluate(results, metric=['bbox', 'segm'])
    assert set(values) == {k for k in direct if not k.endswith('copypaste')}
    for k, v in values.items():
        assert v == pytest.approx(direct[k]) and isinstance(v, float)


def test_eval_metric_tool_rescores_pkl(coco_files):
    import importlib.util
    import os

    import mmengine
    root, gt_path = coco_files
    cfg = root / 'cfg.py'
    cfg.write_text(f"data = dict(test=dict(type='CocoDataset', ann_file={gt_path!r}, "
                   f"classes=('a', 'b'), pipeline=[]))\n"
                   f"evaluation = dict(interval=1, metric='bbox', save_best='auto')\n")
    mmengine.dump(make_results(False), str(root / 'res.pkl'))
    spec = importlib.util.spec_from_file_location(
        'eval_metric', os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
                                    'analysis_tools', 'eval_metric.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main([str(cfg), str(root / 'res.pkl'), '--eval', 'bbox',
                       '--eval-options', 'backend=faster'])
    assert out['bbox_mAP'] == pytest.approx(build(root).evaluate(make_results(False))['bbox_mAP'])
