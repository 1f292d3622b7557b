"""Learning tests of the one-stage families: each tiny detector (one_stage_learning.py)
overfits two synthetic images on CPU and then finds every object with IoU >= 0.7."""
import numpy as np
import pytest

from .one_stage_learning import assert_finds_every_object, overfit, tiny_detector

GN = dict(type='GN', num_groups=8, requires_grad=True)
ATSS_TRAIN = dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1)
ONE_ANCHOR = dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                  scales_per_octave=1, strides=[8, 16, 32, 64, 128])

# family -> (detector type, head config, train_cfg, iterations, min score[, tiny_detector
# keyword arguments])
FAMILIES = dict(
    fcos=('FCOS', dict(type='FCOSHead', stacked_convs=1, strides=[8, 16, 32, 64, 128],
                       norm_cfg=GN, norm_on_bbox=True, centerness_on_reg=True,
                       center_sampling=True, loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
          None, 50, 0.3),
    atss=('ATSS', dict(type='ATSSHead', stacked_convs=1, norm_cfg=GN,
                       anchor_generator=ONE_ANCHOR,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                     loss_weight=1.0),
                       loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
          ATSS_TRAIN, 50, 0.3),
    gfl=('GFL', dict(type='GFLHead', stacked_convs=1, norm_cfg=GN, anchor_generator=ONE_ANCHOR,
                     reg_max=8,
                     loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
                                   loss_weight=1.0),
                     loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
         ATSS_TRAIN, 50, 0.3),
    vfnet=('VFNet', dict(type='VFNetHead', stacked_convs=1, norm_cfg=GN,
                         strides=[8, 16, 32, 64, 128]),
           ATSS_TRAIN, 50, 0.3),
    # initial_epoch=0: straight to task-aligned assignment (the warm-up's ATSS is ATSS's).
    tood=('TOOD', dict(type='TOODHead', stacked_convs=2, norm_cfg=GN, anchor_generator=ONE_ANCHOR,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, activated=True,
                                     beta=2.0, loss_weight=1.0),
                       loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
          dict(initial_epoch=0, initial_assigner=dict(type='ATSSAssigner', topk=9),
               assigner=dict(type='TaskAlignedAssigner', topk=13), alpha=1, beta=6,
               allowed_border=-1, pos_weight=-1), 50, 0.3),
    reppoints=('RepPointsDetector',
               dict(type='RepPointsHead', stacked_convs=1, point_feat_channels=32, norm_cfg=GN,
                    loss_bbox_init=dict(type='SmoothL1Loss', beta=0.11, loss_weight=0.5),
                    loss_bbox_refine=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
               dict(init=dict(assigner=dict(type='PointAssigner', scale=4, pos_num=1),
                              allowed_border=-1, pos_weight=-1),
                    refine=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                                              neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1),
                                allowed_border=-1, pos_weight=-1)), 50, 0.3),
    fovea=('FOVEA', dict(type='FoveaHead', stacked_convs=1, norm_cfg=GN,
                         strides=[8, 16, 32, 64, 128], base_edge_list=[16, 32, 64, 128, 256],
                         scale_ranges=((1, 64), (32, 128), (64, 256), (128, 512), (256, 2048)),
                         loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=1.50,
                                       alpha=0.4, loss_weight=1.0),
                         loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
           dict(), 50, 0.3),
    paa=('PAA', dict(type='PAAHead', stacked_convs=1, norm_cfg=GN, anchor_generator=ONE_ANCHOR,
                     reg_decoded_bbox=True,
                     bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                                     target_stds=[0.1, 0.1, 0.2, 0.2]),
                     loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                   loss_weight=1.0),
                     loss_bbox=dict(type='GIoULoss', loss_weight=1.3),
                     loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True,
                                          loss_weight=0.5)),
         dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.1, neg_iou_thr=0.1,
                            min_pos_iou=0, ignore_iof_thr=-1),
              allowed_border=-1, pos_weight=-1), 50, 0.3),
    # NAS-FCOS's searched head (two DCNv2 per tower) on the plain FPN.
    nasfcos=('NASFCOS', dict(type='NASFCOSHead', strides=[8, 16, 32, 64, 128], norm_cfg=GN),
             None, 30, 0.3),
    fsaf=('FSAF', dict(type='FSAFHead', stacked_convs=1, norm_cfg=GN, reg_decoded_bbox=True,
                       anchor_generator=dict(type='AnchorGenerator', octave_base_scale=1,
                                             scales_per_octave=1, ratios=[1.0],
                                             strides=[8, 16, 32, 64, 128]),
                       bbox_coder=dict(type='TBLRBBoxCoder', normalizer=4.0),
                       loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                     loss_weight=1.0, reduction='none'),
                       loss_bbox=dict(type='IoULoss', eps=1e-6, loss_weight=1.0,
                                      reduction='none')),
          dict(assigner=dict(type='CenterRegionAssigner', pos_scale=0.2, neg_scale=0.2,
                             min_pos_iof=0.01),
               allowed_border=-1, pos_weight=-1), 50, 0.3),
    free_anchor=('RetinaNet',
                 dict(type='FreeAnchorRetinaHead', stacked_convs=1, norm_cfg=GN,
                      anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                            scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                                            strides=[8, 16, 32, 64, 128]),
                      bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                                      target_stds=[0.1, 0.1, 0.2, 0.2]),
                      loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=0.75)),
                 dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                    min_pos_iou=0, ignore_iof_thr=-1),
                      allowed_border=-1, pos_weight=-1), 50, 0.3),
    autoassign=('AutoAssign', dict(type='AutoAssignHead', stacked_convs=1, norm_cfg=GN,
                                   strides=[8, 16, 32, 64, 128],
                                   loss_bbox=dict(type='GIoULoss', loss_weight=5.0)),
                None, 50, 0.3),
    ddod=('DDOD', dict(type='DDODHead', stacked_convs=1, norm_cfg=GN, anchor_generator=ONE_ANCHOR,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                     loss_weight=1.0),
                       loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
          dict(assigner=dict(type='ATSSAssigner', topk=9, alpha=0.8),
               reg_assigner=dict(type='ATSSAssigner', topk=9, alpha=0.5),
               allowed_border=-1, pos_weight=-1), 50, 0.3),
    # GN instead of BN in the head: 50 steps are too few for BN's running statistics.
    yolof=('YOLOF', dict(type='YOLOFHead', norm_cfg=GN, num_cls_convs=1, num_reg_convs=2,
                         anchor_generator=dict(
                             type='AnchorGenerator', ratios=[1.0], scales=[1, 2, 4, 8, 16],
                             strides=[32]),
                         bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                                         target_stds=[1.] * 4, add_ctr_clamp=True,
                                         ctr_clamp=32),
                         reg_decoded_bbox=True,
                         loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                                       alpha=0.25, loss_weight=1.0),
                         loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
           dict(assigner=dict(type='UniformAssigner', pos_ignore_thr=0.15, neg_ignore_thr=0.7),
                allowed_border=-1, pos_weight=-1), 50, 0.3,
           dict(out_indices=(3, ),
                neck=dict(type='DilatedEncoder', in_channels=128, out_channels=32,
                          block_mid_channels=16, num_residual_blocks=2,
                          block_dilations=[2, 4]))),
)


@pytest.mark.parametrize('family', list(FAMILIES))
def test_overfits_two_synthetic_images(family, one_thread):
    detector, head, train_cfg, iters, min_score, *kwargs = FAMILIES[family]
    model = tiny_detector(detector, head, train_cfg, **(kwargs[0] if kwargs else {}))
    history, results = overfit(model, iters)
    final = float(np.mean(history[-5:]))
    assert final <= 0.5 * history[0], (history[0], final)
    assert_finds_every_object(results, min_score=min_score)
