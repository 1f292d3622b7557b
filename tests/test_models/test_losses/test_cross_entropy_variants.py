"""CrossEntropyLoss's 2.x variants (sigmoid with class weights / ignore_index /
avg_non_ignore, softmax with avg_factor, use_mask) against mmdetection 2.28."""
import torch

from mmdet_lite.models import build_loss
from mmdet_lite.models.losses import CrossEntropyLoss
from ._mmdet2_losses import ref


def test_cross_entropy_variants_against_mmdet228():
    pred, labels, weight = ref('ce/pred'), ref('ce/labels'), ref('ce/weight')
    cw = ref('ce/class_weight').tolist()
    sig = build_loss(dict(type='CrossEntropyLoss', use_sigmoid=True, class_weight=cw,
                          ignore_index=255, avg_non_ignore=True, loss_weight=1.5))
    assert torch.allclose(sig(pred, labels, weight), ref('ce/sigmoid'))
    plain = CrossEntropyLoss(use_sigmoid=True, ignore_index=255)(pred, labels)
    assert torch.allclose(plain, ref('ce/sigmoid_plain'))
    pred5 = torch.cat([pred, pred[:, :1]], 1)
    soft = CrossEntropyLoss(class_weight=cw + [1.0], ignore_index=255, avg_non_ignore=True)
    assert torch.allclose(soft(pred5, labels, weight), ref('ce/softmax'))
    avg = CrossEntropyLoss(ignore_index=255)(pred5, labels, weight, avg_factor=4.)
    assert torch.allclose(avg, ref('ce/softmax_avg'))
    mask = CrossEntropyLoss(use_mask=True, loss_weight=2.0)
    out = mask(ref('ce_mask/pred'), ref('ce_mask/target'), ref('ce_mask/label'))
    assert out.shape == (1, ) and torch.allclose(out, ref('ce_mask/out'))
