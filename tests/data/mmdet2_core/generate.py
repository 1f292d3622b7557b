"""Write ``reference.npz``: inputs and mmdetection 2.28's outputs for the prior generators,
box coders and assigners of mmdet_lite.core (read by tests/test_core/test_*/test_*_oracle.py).

A development tool, not run by the tests: it needs mmdetection 2.28 in its own venv
(``../shared/mmdet2_oracle/setup.sh``). From the repository root::

    /tmp/mmdet2_venv/bin/python tests/data/mmdet2_core/generate.py

Keys are ``<case>/<name>``; every case stores its inputs next to 2.28's outputs, so the tests
need neither mmdetection nor the random draws made here. ``None`` outputs are not stored.
"""
import os
import sys
import warnings

warnings.filterwarnings('ignore')
ORACLE_SHIM = os.environ.get('MMDET2_SHIM', '/work/shared/mmdet2_oracle/mmdet2_shim')
sys.path.insert(0, ORACLE_SHIM)

import mmcv_ops_shim  # noqa: E402

mmcv_ops_shim.install()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmdet.core.anchor.anchor_generator import (  # noqa: E402
    AnchorGenerator, LegacyAnchorGenerator, LegacySSDAnchorGenerator, SSDAnchorGenerator,
    YOLOAnchorGenerator)
from mmdet.core.anchor.point_generator import MlvlPointGenerator  # noqa: E402
from mmdet.core.bbox import assigners as A  # noqa: E402
from mmdet.core.bbox import coder as C  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'reference.npz')
data = {}


def put(case, **arrays):
    for name, value in arrays.items():
        if value is None:
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        data[f'{case}/{name}'] = np.asarray(value)


def boxes(g, n, size, min_wh=4., max_wh=40.):
    xy = torch.rand(n, 2, generator=g) * size
    wh = min_wh + torch.rand(n, 2, generator=g) * (max_wh - min_wh)
    return torch.cat([xy, xy + wh], dim=1)


def assign_out(case, result):
    put(case, gt_inds=result.gt_inds, labels=result.labels, max_overlaps=result.max_overlaps)


# ---------------------------------------------------------------- prior generators
def prior_generators():
    sizes = [(3, 5), (2, 3)]
    for offset in (0.5, 0.):
        gen = MlvlPointGenerator([8, (16, 8)], offset=offset)
        case = f'points_offset{offset}'
        put(case, plain=torch.cat(gen.grid_priors(sizes, device='cpu')),
            with_stride=torch.cat(gen.grid_priors(sizes, device='cpu', with_stride=True)),
            valid=torch.cat(gen.valid_flags(sizes, (12, 30), device='cpu')),
            sparse=gen.sparse_priors(torch.tensor([0, 4, 7, 14]), (3, 5), 1, device='cpu'))

    ssd300 = SSDAnchorGenerator(scale_major=False, input_size=300,
                                basesize_ratio_range=(0.15, 0.9),
                                strides=[8, 16, 32, 64, 100, 300],
                                ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]])
    ssd512 = SSDAnchorGenerator(scale_major=False, input_size=512,
                                basesize_ratio_range=(0.1, 0.9),
                                strides=[8, 16, 32, 64, 128, 256, 512],
                                ratios=[[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]])
    ssd300_voc = SSDAnchorGenerator(scale_major=False, input_size=300,
                                    basesize_ratio_range=(0.2, 0.9),
                                    strides=[8, 16, 32, 64, 100, 300],
                                    ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]])
    ssdlite = SSDAnchorGenerator(scale_major=False, strides=[16, 32, 64, 107, 160, 320],
                                 ratios=[[2, 3]] * 6, min_sizes=[48, 100, 150, 202, 253, 304],
                                 max_sizes=[100, 150, 202, 253, 304, 320])
    legacy_ssd = LegacySSDAnchorGenerator(scale_major=False, input_size=300,
                                          basesize_ratio_range=(0.15, 0.9),
                                          strides=[8, 16, 32, 64, 100, 300],
                                          ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]])
    for name, gen in (('ssd300', ssd300), ('ssd512', ssd512), ('ssd300_voc', ssd300_voc),
                      ('ssdlite', ssdlite), ('legacy_ssd300', legacy_ssd)):
        put(name, base_anchors=torch.cat(gen.base_anchors),
            num_base_priors=gen.num_base_priors,
            grid=torch.cat(gen.grid_priors([(2, 2)] * gen.num_levels, device='cpu')))

    yolo = YOLOAnchorGenerator(strides=[32, 16, 8],
                               base_sizes=[[(116, 90), (156, 198), (373, 326)],
                                           [(30, 61), (62, 45), (59, 119)],
                                           [(10, 13), (16, 30), (33, 23)]])
    yolo_sizes = [(3, 4), (6, 8), (12, 16)]
    gts = torch.tensor([[5., 7., 40., 60.], [70., 10., 120., 90.], [0., 0., 3., 3.]])
    put('yolo_anchors', base_anchors=torch.cat(yolo.base_anchors),
        grid=torch.cat(yolo.grid_priors(yolo_sizes, device='cpu')), gt_bboxes=gts,
        responsible=torch.cat(yolo.responsible_flags(yolo_sizes, gts, device='cpu')))

    legacy = LegacyAnchorGenerator(strides=[8, 16], ratios=[0.5, 1.0, 2.0],
                                   octave_base_scale=4, scales_per_octave=3, center_offset=0.5)
    put('legacy_anchors', base_anchors=torch.cat(legacy.base_anchors),
        grid=torch.cat(legacy.grid_priors([(2, 3), (1, 2)], device='cpu')))


# ---------------------------------------------------------------- coders
def coders():
    g = torch.Generator().manual_seed(1)
    points = torch.rand(12, 2, generator=g) * 60
    gt = boxes(g, 12, 50.)
    dist = torch.rand(12, 4, generator=g) * 30
    bpoints = torch.rand(2, 12, 2, generator=g) * 60
    bdist = torch.rand(2, 12, 4, generator=g) * 30
    coder = C.DistancePointBBoxCoder()
    put('distance_point', points=points, gt=gt, dist=dist, bpoints=bpoints, bdist=bdist,
        enc=coder.encode(points, gt), enc_max=coder.encode(points, gt, max_dis=16, eps=0.1),
        dec=coder.decode(points, dist), dec_clip=coder.decode(points, dist, max_shape=(40, 50)),
        dec_batch=coder.decode(bpoints, bdist, max_shape=[(40, 50), (30, 70)]),
        dec_noclip=C.DistancePointBBoxCoder(clip_border=False).decode(points, dist, (40, 50)))

    anchors = boxes(g, 10, 60.)
    gt = anchors + (torch.rand(10, 4, generator=g) - 0.5) * 12
    stride = torch.tensor([8., 16.] * 5)
    pred = torch.rand(10, 4, generator=g)
    coder = C.YOLOBBoxCoder()
    put('yolo_coder', anchors=anchors, gt=gt, stride=stride, pred=pred,
        enc=coder.encode(anchors, gt, stride), dec=coder.decode(anchors, pred, stride[:, None]),
        dec_int=coder.decode(anchors, pred, 32))

    priors = boxes(g, 10, 60.)
    gt = priors + (torch.rand(10, 4, generator=g) - 0.5) * 20
    pred = torch.randn(10, 4, generator=g)
    bpriors = boxes(g, 20, 60.).view(2, 10, 4)
    bpred = torch.randn(2, 10, 4, generator=g)
    put('tblr', priors=priors, gt=gt, pred=pred, bpriors=bpriors, bpred=bpred,
        enc=C.TBLRBBoxCoder(normalizer=4.0).encode(priors, gt),
        enc_list=C.TBLRBBoxCoder(normalizer=[1., 2., 3., 4.]).encode(priors, gt),
        dec=C.TBLRBBoxCoder(normalizer=4.0).decode(priors, pred),
        dec_clip=C.TBLRBBoxCoder(normalizer=4.0).decode(priors, pred, max_shape=(50, 40)),
        dec_batch=C.TBLRBBoxCoder(normalizer=1.0).decode(bpriors, bpred,
                                                          max_shape=[(50, 40), (30, 70)]))

    proposals = boxes(g, 8, 60., min_wh=8.)
    gt = proposals + (torch.rand(8, 4, generator=g) - 0.5) * 16
    for num_buckets, ignore_neighbor in ((14, True), (7, False)):
        coder = C.BucketingBBoxCoder(num_buckets=num_buckets, scale_factor=1.7,
                                     cls_ignore_neighbor=ignore_neighbor)
        side = int(np.ceil(num_buckets / 2))
        cls_pred = torch.randn(8, 4 * side, generator=g)
        off_pred = torch.randn(8, 4 * side, generator=g) * 0.5
        enc = coder.encode(proposals, gt)
        dec, conf = coder.decode(proposals, (cls_pred, off_pred), max_shape=(64, 56))
        put(f'bucketing{num_buckets}', proposals=proposals, gt=gt, cls_pred=cls_pred,
            off_pred=off_pred, offsets=enc[0], offset_weights=enc[1], labels=enc[2],
            cls_weights=enc[3], dec=dec, conf=conf,
            dec_noclip=coder.decode(proposals, (cls_pred, off_pred))[0])

    rois = boxes(g, 9, 60., min_wh=10.)
    gt = rois + (torch.rand(9, 4, generator=g) - 0.5) * 8
    deltas = torch.randn(9, 8, generator=g)
    coder = C.LegacyDeltaXYWHBBoxCoder(target_means=(0.1, 0., -0.1, 0.),
                                       target_stds=(0.1, 0.1, 0.2, 0.2))
    put('legacy_delta', rois=rois, gt=gt, deltas=deltas, enc=coder.encode(rois, gt),
        dec=coder.decode(rois, deltas), dec_clip=coder.decode(rois, deltas, max_shape=(40, 50)))

    deltas = torch.randn(9, 4, generator=g) * 2
    coder = C.DeltaXYWHBBoxCoder(add_ctr_clamp=True, ctr_clamp=8)
    put('delta_ctr_clamp', rois=rois, deltas=deltas, dec=coder.decode(rois, deltas),
        dec_clip=coder.decode(rois, deltas, max_shape=(40, 50)))


# ---------------------------------------------------------------- assigners
def level_anchors(sizes, strides, scale=4):
    gen = AnchorGenerator(strides=strides, ratios=[1.0], scales=[scale])
    anchors = gen.grid_priors(sizes, device='cpu')
    return torch.cat(anchors), [a.size(0) for a in anchors]


def assigners():
    g = torch.Generator().manual_seed(2)
    anchors, num_level = level_anchors([(8, 8), (4, 4), (2, 2)], [8, 16, 32])
    gts = boxes(g, 5, 48., min_wh=8., max_wh=40.)
    labels = torch.randint(0, 6, (5, ), generator=g)
    ignore = torch.tensor([[40., 40., 64., 64.]])
    put('atss', anchors=anchors, num_level=num_level, gts=gts, labels=labels, ignore=ignore)
    atss = A.ATSSAssigner(topk=3)
    assign_out('atss/plain', atss.assign(anchors, num_level, gts, gt_labels=labels))
    assign_out('atss/ignore', A.ATSSAssigner(topk=3, ignore_iof_thr=0.5).assign(
        anchors, num_level, gts, gt_bboxes_ignore=ignore, gt_labels=labels))
    cls_scores = torch.randn(anchors.size(0), 6, generator=g)
    bbox_preds = anchors + torch.randn(anchors.size(0), 4, generator=g) * 3
    put('atss/ddod', cls_scores=cls_scores, bbox_preds=bbox_preds)
    assign_out('atss/ddod', A.ATSSAssigner(topk=3, alpha=0.8).assign(
        anchors, num_level, gts, gt_labels=labels, cls_scores=cls_scores, bbox_preds=bbox_preds))

    # FSAF: overlapping GTs of two classes, one GT nested in another
    anchors, _ = level_anchors([(8, 8), (4, 4)], [8, 16], scale=1)
    gts = torch.tensor([[4., 4., 44., 40.], [10., 8., 30., 28.], [30., 30., 62., 60.],
                        [28., 6., 60., 36.]])
    labels = torch.tensor([1, 1, 0, 2])
    ignore = torch.tensor([[0., 40., 24., 64.]])
    put('center_region', anchors=anchors, gts=gts, labels=labels, ignore=ignore)
    for dominate in (False, True):
        for neg_scale in (0.2, 0.5):
            assigner = A.CenterRegionAssigner(pos_scale=0.2, neg_scale=neg_scale,
                                              min_pos_iof=0.01, foreground_dominate=dominate)
            res = assigner.assign(anchors, gts, gt_bboxes_ignore=ignore, gt_labels=labels)
            case = f'center_region/dom{int(dominate)}_neg{neg_scale}'
            assign_out(case, res)
            put(case, shadowed=res.get_extra_property('shadowed_labels'))

    yolo = YOLOAnchorGenerator(strides=[32, 16], base_sizes=[[(40, 30), (60, 70)],
                                                             [(10, 12), (20, 30)]])
    sizes = [(3, 3), (6, 6)]
    anchors = torch.cat(yolo.grid_priors(sizes, device='cpu'))
    gts = torch.tensor([[10., 12., 50., 44.], [60., 60., 80., 90.], [4., 70., 20., 86.]])
    labels = torch.tensor([3, 0, 1])
    flags = torch.cat(yolo.responsible_flags(sizes, gts, device='cpu'))
    put('grid', anchors=anchors, gts=gts, labels=labels, flags=flags)
    assign_out('grid/plain', A.GridAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5,
                                            min_pos_iou=0).assign(anchors, flags, gts, labels))
    assign_out('grid/range', A.GridAssigner(pos_iou_thr=0.3, neg_iou_thr=(0.1, 0.4),
                                            gt_max_assign_all=False).assign(
                                                anchors, flags, gts, labels))

    points = torch.cat(MlvlPointGenerator([8, 16], offset=0).grid_priors(
        [(8, 8), (4, 4)], device='cpu', with_stride=True))
    gts = boxes(g, 4, 48., min_wh=10., max_wh=30.)
    labels = torch.randint(0, 5, (4, ), generator=g)
    scores = torch.rand(points.size(0), 5, generator=g)
    centres = points[:, :2] + points[:, 2:] * 0.5
    decoded = torch.cat([centres - 10 - torch.rand(points.size(0), 2, generator=g) * 10,
                         centres + 10 + torch.rand(points.size(0), 2, generator=g) * 10], 1)
    put('simota', points=points, gts=gts, labels=labels, scores=scores, decoded=decoded)
    assign_out('simota/out', A.SimOTAAssigner(center_radius=2.5).assign(
        scores, points, decoded, gts, labels))

    anchors, _ = level_anchors([(8, 8), (4, 4)], [8, 16], scale=3)
    gts = boxes(g, 4, 48., min_wh=10., max_wh=30.)
    labels = torch.randint(0, 5, (4, ), generator=g)
    scores = torch.rand(anchors.size(0), 5, generator=g)
    decoded = anchors + torch.randn(anchors.size(0), 4, generator=g) * 4
    put('task_aligned', anchors=anchors, gts=gts, labels=labels, scores=scores, decoded=decoded)
    res = A.TaskAlignedAssigner(topk=5).assign(scores, decoded, anchors, gts, None, labels)
    assign_out('task_aligned/out', res)
    put('task_aligned/out', metrics=res.assign_metrics)

    approx_gen = AnchorGenerator(strides=[8, 16], ratios=[0.5, 1.0, 2.0], octave_base_scale=4,
                                 scales_per_octave=3)
    square_gen = AnchorGenerator(strides=[8, 16], ratios=[1.0], scales=[4])
    sizes = [(6, 6), (3, 3)]
    approxs = torch.cat(approx_gen.grid_priors(sizes, device='cpu'))
    squares = torch.cat(square_gen.grid_priors(sizes, device='cpu'))
    gts = boxes(g, 4, 40., min_wh=10., max_wh=30.)
    labels = torch.randint(0, 5, (4, ), generator=g)
    ignore = torch.tensor([[0., 0., 20., 20.]])
    put('approx', approxs=approxs, squares=squares, gts=gts, labels=labels, ignore=ignore)
    assigner = A.ApproxMaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0.0,
                                      ignore_iof_thr=0.5)
    assign_out('approx/out', assigner.assign(approxs, squares, 9, gts, ignore, labels))

    points = torch.cat(MlvlPointGenerator([8, 16, 32]).grid_priors(
        [(8, 8), (4, 4), (2, 2)], device='cpu', with_stride=True))[:, :3]
    gts = torch.cat([boxes(g, 3, 48., min_wh=6., max_wh=20.),
                     boxes(g, 3, 30., min_wh=30., max_wh=60.)])
    labels = torch.randint(0, 5, (6, ), generator=g)
    put('point', points=points, gts=gts, labels=labels)
    assign_out('point/out', A.PointAssigner(scale=4, pos_num=3).assign(points, gts, None, labels))

    anchors, _ = level_anchors([(8, 8)], [8], scale=4)
    gts = boxes(g, 3, 48., min_wh=16., max_wh=40.)
    labels = torch.randint(0, 5, (3, ), generator=g)
    preds = anchors + torch.randn(anchors.size(0), 4, generator=g) * 6
    put('uniform', anchors=anchors, gts=gts, labels=labels, preds=preds)
    res = A.UniformAssigner(pos_ignore_thr=0.4, neg_ignore_thr=0.5, match_times=4).assign(
        preds, anchors, gts, None, labels)
    assign_out('uniform/out', res)
    put('uniform/out', pos_idx=res.get_extra_property('pos_idx'),
        pos_predicted_boxes=res.get_extra_property('pos_predicted_boxes'),
        target_boxes=res.get_extra_property('target_boxes'))

    gen = AnchorGenerator(strides=[4, 8, 16], ratios=[1.0], scales=[8])
    sizes = [(16, 16), (8, 8), (4, 4)]
    mlvl = gen.grid_priors(sizes, device='cpu')
    flags = gen.valid_flags(sizes, (60, 64), device='cpu')
    gts = torch.tensor([[6., 6., 26., 26.], [20., 10., 60., 50.], [2., 30., 12., 40.]])
    put('region', anchors=torch.cat(mlvl), gts=gts, flags=torch.cat(flags))
    for border in (-1, 0):
        assign_out(f'region/border{border}', A.RegionAssigner(0.2, 0.5).assign(
            mlvl, flags, gts, dict(img_shape=(56, 60, 3)), sizes, 8, [4, 8, 16],
            allowed_border=border))


prior_generators()
coders()
assigners()
np.savez_compressed(OUT, **data)
print(f'wrote {len(data)} arrays to {OUT} ({os.path.getsize(OUT)} bytes)')
