"""Write ``reference.npz``: inputs and mmdetection 2.28's outputs for the losses of
mmdet_lite.models.losses added for the two-stage and one-stage families (read by
tests/test_models/test_losses/test_*.py).

A development tool, not run by the tests: it needs mmdetection 2.28 in its own venv
(``../shared/mmdet2_oracle/setup.sh``). From the repository root::

    /tmp/mmdet2_venv/bin/python tests/data/mmdet2_losses/generate.py

Keys are ``<case>/<name>``; every case stores its inputs next to 2.28's outputs, so the tests
need neither mmdetection nor the random draws made here.
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
from mmdet.core.bbox.coder import DeltaXYWHBBoxCoder  # noqa: E402
from mmdet.models import losses as L  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'reference.npz')
data = {}


def put(case, **arrays):
    for name, value in arrays.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        data[f'{case}/{name}'] = np.asarray(value)


def boxes(g, n, size=40., min_wh=2., max_wh=30.):
    xy = torch.rand(n, 2, generator=g) * size
    wh = min_wh + torch.rand(n, 2, generator=g) * (max_wh - min_wh)
    return torch.cat([xy, xy + wh], dim=1)


def near(g, b, jitter=3.):
    return b + (torch.rand(b.shape, generator=g) - 0.5) * 2 * jitter


def reductions(case, loss, pred, target, weight, **extra):
    """The loss with no weight, with weight, with avg_factor, and with each override."""
    put(case, out_plain=loss(pred, target, **extra),
        out_weight=loss(pred, target, weight, **extra),
        out_avg=loss(pred, target, weight, avg_factor=3.5, **extra),
        out_none=loss(pred, target, weight, reduction_override='none', **extra),
        out_sum=loss(pred, target, weight, reduction_override='sum', **extra))


g = torch.Generator().manual_seed(228)

# --- regression losses ------------------------------------------------------------------
pred = torch.randn(7, 4, generator=g) * 1.5
target = torch.randn(7, 4, generator=g)
weight = torch.rand(7, 4, generator=g)
put('balanced_l1', pred=pred, target=target, weight=weight)
reductions('balanced_l1', L.BalancedL1Loss(loss_weight=1.5), pred, target, weight)
put('balanced_l1_beta', out=L.BalancedL1Loss(alpha=0.3, gamma=2.0, beta=0.5)(pred, target))

put('mse', pred=pred, target=target, weight=weight)
reductions('mse', L.MSELoss(loss_weight=2.0), pred, target, weight)

tb = boxes(g, 8)
pb = near(g, tb)
pb[6:] = boxes(g, 2)  # two far-off pairs
bw = torch.rand(8, 4, generator=g)
put('bounded_iou', pred=pb, target=tb, weight=bw)
reductions('bounded_iou', L.BoundedIoULoss(beta=0.2, eps=1e-3, loss_weight=2.0), pb, tb, bw)
for name, cls in (('diou', L.DIoULoss), ('ciou', L.CIoULoss), ('giou', L.GIoULoss)):
    w1 = torch.rand(8, generator=g)
    put(name, pred=pb, target=tb, weight=w1)
    reductions(name, cls(loss_weight=1.5), pb, tb, w1)
    put(name, out_weight4=cls()(pb, tb, bw))

# --- GHM --------------------------------------------------------------------------------
num_classes = 4
cls_pred = torch.randn(30, num_classes, generator=g) * 2
labels = torch.randint(0, num_classes + 1, (30, ), generator=g)
label_weight = (torch.rand(30, generator=g) > 0.2).float()
ghmc = L.GHMC(bins=30, momentum=0.75, loss_weight=1.0)
out1 = ghmc(cls_pred, labels, label_weight)
out2 = ghmc(cls_pred * 0.5, labels, label_weight)
put('ghmc', pred=cls_pred, labels=labels, label_weight=label_weight, out1=out1, out2=out2,
    acc_sum=ghmc.acc_sum, edges=ghmc.edges)
ghmc0 = L.GHMC(bins=10, momentum=0, loss_weight=2.0)
put('ghmc0', out=ghmc0(cls_pred, labels, label_weight),
    out_none=ghmc0(cls_pred, labels, label_weight, reduction_override='none'))
onehot = torch.nn.functional.one_hot(labels, num_classes + 1)[:, :num_classes].float()
put('ghmc0', out_onehot=ghmc0(cls_pred, onehot, label_weight[:, None].expand(-1, num_classes)))

reg_pred = torch.randn(20, 4, generator=g) * 0.3
reg_target = torch.randn(20, 4, generator=g) * 0.3
reg_weight = (torch.rand(20, 1, generator=g) > 0.3).float().expand(20, 4).contiguous()
ghmr = L.GHMR(mu=0.02, bins=10, momentum=0.7, loss_weight=1.0)
out1 = ghmr(reg_pred, reg_target, reg_weight)
out2 = ghmr(reg_pred * 2, reg_target, reg_weight)
put('ghmr', pred=reg_pred, target=reg_target, label_weight=reg_weight, out1=out1, out2=out2,
    acc_sum=ghmr.acc_sum, edges=ghmr.edges)
ghmr0 = L.GHMR(mu=0.05, bins=5, momentum=0)
put('ghmr0', out=ghmr0(reg_pred, reg_target, reg_weight),
    out_none=ghmr0(reg_pred, reg_target, reg_weight, reduction_override='none'))

# --- Seesaw -----------------------------------------------------------------------------
C = 5
seesaw = L.SeesawLoss(p=0.8, q=2.0, num_classes=C, loss_weight=1.0)
score1 = torch.randn(12, C + 2, generator=g) * 2
labels1 = torch.tensor([0, 0, 0, 1, 2, 5, 5, 5, 5, 4, 0, 1])
lw1 = torch.rand(12, generator=g)
res1 = seesaw(score1, labels1, lw1, avg_factor=10.)
score2 = torch.randn(9, C + 2, generator=g) * 2
labels2 = torch.tensor([3, 3, 0, 5, 5, 1, 2, 0, 4])
res2 = seesaw(score2, labels2)
put('seesaw', score1=score1, labels1=labels1, lw1=lw1, score2=score2, labels2=labels2,
    obj1=res1['loss_cls_objectness'], cls1=res1['loss_cls_classes'],
    obj2=res2['loss_cls_objectness'], cls2=res2['loss_cls_classes'],
    cum_samples=seesaw.cum_samples, activation=seesaw.get_activation(score1))
acc = seesaw.get_accuracy(score1, labels1)
put('seesaw', acc_objectness=acc['acc_objectness'], acc_classes=acc['acc_classes'])
seesaw_sum = L.SeesawLoss(p=0.8, q=2.0, num_classes=C, return_dict=False)
put('seesaw', out_nodict=seesaw_sum(score1, labels1, lw1),
    out_none=L.SeesawLoss(p=0.0, q=1.0, num_classes=C)(
        score1, labels1, reduction_override='none')['loss_cls_classes'])

# --- GFL / VFL / Gaussian focal / KD ----------------------------------------------------
qfl_pred = torch.randn(10, 6, generator=g)
qfl_labels = torch.tensor([0, 6, 2, 6, 5, 6, 1, 1, 6, 3])
qfl_scores = torch.rand(10, generator=g)
qfl_weight = torch.rand(10, generator=g)
put('qfl', pred=qfl_pred, labels=qfl_labels, scores=qfl_scores, weight=qfl_weight)
reductions('qfl', L.QualityFocalLoss(beta=2.0, loss_weight=1.5), qfl_pred,
           (qfl_labels, qfl_scores), qfl_weight)
put('qfl', out_prob=L.QualityFocalLoss(activated=True)(qfl_pred.sigmoid(),
                                                       (qfl_labels, qfl_scores), qfl_weight))

dfl_pred = torch.randn(12, 17, generator=g)
dfl_target = torch.rand(12, generator=g) * 15.99
dfl_weight = torch.rand(12, generator=g)
put('dfl', pred=dfl_pred, target=dfl_target, weight=dfl_weight)
reductions('dfl', L.DistributionFocalLoss(loss_weight=0.25), dfl_pred, dfl_target, dfl_weight)

vfl_pred = torch.randn(10, 4, generator=g)
vfl_target = torch.zeros(10, 4)
vfl_target[[0, 3, 4, 8], [1, 0, 3, 1]] = torch.rand(4, generator=g)
vfl_weight = torch.rand(10, 4, generator=g)
put('vfl', pred=vfl_pred, target=vfl_target, weight=vfl_weight)
reductions('vfl', L.VarifocalLoss(alpha=0.75, gamma=2.0, loss_weight=1.5), vfl_pred, vfl_target,
           vfl_weight)
put('vfl', out_not_iou_weighted=L.VarifocalLoss(iou_weighted=False)(vfl_pred, vfl_target))

heat_pred = torch.rand(2, 3, 6, 6, generator=g) * 0.98 + 0.01
yy, xx = torch.meshgrid(torch.arange(6.), torch.arange(6.), indexing='ij')
heat_target = torch.exp(-((yy - 2)**2 + (xx - 3)**2) / 4.)[None, None].repeat(2, 3, 1, 1)
heat_target[1, 2] = 0
heat_weight = torch.rand(2, 3, 6, 6, generator=g)
put('gaussian_focal', pred=heat_pred, target=heat_target, weight=heat_weight)
reductions('gaussian_focal', L.GaussianFocalLoss(alpha=2.0, gamma=4.0, loss_weight=1.0),
           heat_pred, heat_target, heat_weight)

kd_pred = torch.randn(6, 17, generator=g)
kd_soft = torch.randn(6, 17, generator=g)
kd_weight = torch.rand(6, generator=g)
put('kd', pred=kd_pred, soft=kd_soft, weight=kd_weight)
reductions('kd', L.KnowledgeDistillationKLDivLoss(loss_weight=0.25, T=10), kd_pred, kd_soft,
           kd_weight)

# --- associative embedding, dice -----------------------------------------------------------
tl = torch.randn(2, 1, 8, 8, generator=g)
br = torch.randn(2, 1, 8, 8, generator=g)
match = [[[[1, 2], [5, 6]], [[0, 0], [7, 7]], [[3, 1], [4, 6]]], [[[2, 2], [6, 6]]]]
pull, push = L.AssociativeEmbeddingLoss(pull_weight=0.25, push_weight=0.25)(tl, br, match)
put('ae', tl=tl, br=br, pull=pull, push=push)
pull_e, push_e = L.AssociativeEmbeddingLoss()(tl, br, [[], []])
put('ae', pull_empty=pull_e, push_empty=push_e)

mask_pred = torch.randn(5, 7, 7, generator=g)
mask_target = (torch.rand(5, 7, 7, generator=g) > 0.5).float()
mask_weight = torch.rand(5, generator=g)
put('dice', pred=mask_pred, target=mask_target, weight=mask_weight,
    out=L.DiceLoss(loss_weight=2.0)(mask_pred, mask_target, mask_weight),
    out_naive=L.DiceLoss(naive_dice=True, eps=1.)(mask_pred, mask_target),
    out_avg=L.DiceLoss()(mask_pred, mask_target, mask_weight, avg_factor=3.),
    out_prob=L.DiceLoss(activate=False)(mask_pred.sigmoid(), mask_target,
                                        reduction_override='none'))

# --- cross entropy variants (existing loss, checked against 2.28 here too) -----------------
ce_pred = torch.randn(9, 4, generator=g)
ce_labels = torch.tensor([0, 1, 3, 2, 255, 1, 255, 4, 0])
ce_weight = torch.rand(9, generator=g)
cw = [0.5, 1.0, 2.0, 1.5]
ce_sig = L.CrossEntropyLoss(use_sigmoid=True, class_weight=cw, ignore_index=255,
                            avg_non_ignore=True, loss_weight=1.5)
ce_labels_soft = ce_labels.clamp(max=4)
ce_labels_soft[ce_labels == 255] = 255
put('ce', pred=ce_pred, labels=ce_labels, weight=ce_weight, class_weight=np.array(cw),
    sigmoid=ce_sig(ce_pred, ce_labels, ce_weight),
    sigmoid_plain=L.CrossEntropyLoss(use_sigmoid=True, ignore_index=255)(ce_pred, ce_labels),
    softmax=L.CrossEntropyLoss(class_weight=cw + [1.0], ignore_index=255, avg_non_ignore=True)(
        torch.cat([ce_pred, ce_pred[:, :1]], 1), ce_labels, ce_weight),
    softmax_avg=L.CrossEntropyLoss(ignore_index=255)(
        torch.cat([ce_pred, ce_pred[:, :1]], 1), ce_labels, ce_weight, avg_factor=4.))
mpred = torch.randn(4, 3, 5, 5, generator=g)
mtarget = (torch.rand(4, 5, 5, generator=g) > 0.5).float()
mlabel = torch.tensor([2, 0, 1, 2])
put('ce_mask', pred=mpred, target=mtarget, label=mlabel,
    out=L.CrossEntropyLoss(use_mask=True, loss_weight=2.0)(mpred, mtarget, mlabel))

# --- PISA ---------------------------------------------------------------------------------


class _SamplingResult:

    def __init__(self, pos_assigned_gt_inds):
        self.pos_assigned_gt_inds = pos_assigned_gt_inds


num_class = 3
# two images (rows 0-6 and 7-12), each with its positives first as the RoI head lays them
# out: 5 + 4 positives (labels < 3), the rest negatives (label 3)
pos_gt = [torch.tensor([0, 0, 1, 1, 1]), torch.tensor([0, 1, 0, 0])]
labels = torch.tensor([0, 0, 2, 2, 2, 3, 3, 1, 2, 1, 1, 3, 3])
is_pos = labels < num_class
label_weights = torch.ones(13)
rois_boxes = boxes(g, 13, size=60., min_wh=8.)
rois = torch.cat([torch.tensor([0.] * 7 + [1.] * 6)[:, None], rois_boxes], 1)
coder = DeltaXYWHBBoxCoder(target_means=[0., 0., 0., 0.], target_stds=[0.1, 0.1, 0.2, 0.2])
gt = near(g, rois_boxes, 6.)
bbox_targets = coder.encode(rois_boxes, gt)
bbox_targets[~is_pos] = 0
bbox_weights = is_pos.float()[:, None].expand(13, 4).contiguous()
cls_score = torch.randn(13, num_class + 1, generator=g)
bbox_pred = torch.randn(13, 4 * num_class, generator=g) * 0.3
sres = [_SamplingResult(pos_gt[0]), _SamplingResult(pos_gt[1])]
loss_cls = L.CrossEntropyLoss()
new_targets = L.isr_p(cls_score, bbox_pred, (labels, label_weights.clone(), bbox_targets,
                                             bbox_weights), rois, sres, loss_cls, coder, k=2,
                      bias=0, num_class=num_class)
put('isr_p', labels=labels, rois=rois, bbox_targets=bbox_targets, bbox_weights=bbox_weights,
    cls_score=cls_score, bbox_pred=bbox_pred, pos_gt0=pos_gt[0], pos_gt1=pos_gt[1],
    label_weights=new_targets[1])
new_targets_b = L.isr_p(cls_score, bbox_pred[:, :4], (labels, label_weights.clone(),
                                                      bbox_targets, bbox_weights), rois, sres,
                        loss_cls, coder, k=1.5, bias=0.2, num_class=num_class)
put('isr_p', label_weights_agnostic=new_targets_b[1])
loss_bbox = L.SmoothL1Loss(beta=1.0, loss_weight=1.0)
carl = L.carl_loss(cls_score, labels, bbox_pred, bbox_targets, loss_bbox, k=1, bias=0.2,
                   avg_factor=13., num_class=num_class)
carl_sig = L.carl_loss(cls_score[:, :3], labels, bbox_pred[:, :4], bbox_targets, loss_bbox, k=2,
                       bias=0.1, sigmoid=True, num_class=num_class)
put('carl', out=carl['loss_carl'], out_sigmoid=carl_sig['loss_carl'])

np.savez_compressed(OUT, **data)
print(f'wrote {len(data)} arrays to {OUT} ({os.path.getsize(OUT) / 1024:.1f} KiB)')
