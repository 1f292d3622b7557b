# A tiny RetinaNet with RetinaSepBNHead (ResNet-18 at 1/8 width, 16-channel FPN with BN, head
# with 2 stacked convs shared across levels and BN per level) for the parity test with
# mmdetection 2.28 (generate_dense.py); otherwise 2.28's
# nas_fpn/retinanet_r50_fpn_crop640_50e_coco.py model, built on mmdet_lite's
# configs/_base_/models/retinanet_r50_fpn.py (itself 2.28's).
_base_ = '../../../configs/_base_/models/retinanet_r50_fpn.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(depth=18, base_channels=8, norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16, relu_before_extra_convs=True,
              no_norm_on_lateral=True, norm_cfg=norm_cfg),
    bbox_head=dict(type='RetinaSepBNHead', num_ins=5, num_classes=3, in_channels=16,
                   feat_channels=16, stacked_convs=2,
                   # a large eps halves each BN's output (seeded running_var ~ 1), which keeps
                   # the seeded logits unsaturated: sigmoid(> 17) == 1.0 in float32 would make
                   # score ties whose order is arbitrary
                   norm_cfg=dict(type='BN', eps=3.0, requires_grad=True)),
    train_cfg=dict(assigner=dict(neg_iou_thr=0.5)),
    test_cfg=dict(nms_pre=200, max_per_img=50))
