from .accuracy import Accuracy, accuracy
from .ae_loss import AssociativeEmbeddingLoss
from .balanced_l1_loss import BalancedL1Loss, balanced_l1_loss
from .bounded_iou_loss import BoundedIoULoss, bounded_iou_loss
from .cross_entropy_loss import (CrossEntropyLoss, binary_cross_entropy, cross_entropy,
                                 mask_cross_entropy)
from .dice_loss import DiceLoss, dice_loss
from .distance_iou_loss import CIoULoss, DIoULoss, ciou_loss, diou_loss
from .focal_loss import FocalLoss, py_focal_loss_with_prob, sigmoid_focal_loss
from .gaussian_focal_loss import GaussianFocalLoss, gaussian_focal_loss
from .gfocal_loss import (DistributionFocalLoss, QualityFocalLoss, distribution_focal_loss,
                          quality_focal_loss, quality_focal_loss_with_prob)
from .ghm_loss import GHMC, GHMR
from .iou_loss import GIoULoss, IoULoss, giou_loss, iou_loss
from .kd_loss import KnowledgeDistillationKLDivLoss, knowledge_distillation_kl_div_loss
from .mse_loss import MSELoss, mse_loss
from .pisa_loss import carl_loss, isr_p
from .seesaw_loss import SeesawLoss, seesaw_ce_loss
from .smooth_l1_loss import L1Loss, SmoothL1Loss, l1_loss, smooth_l1_loss
from .utils import reduce_loss, weight_reduce_loss, weighted_loss
from .varifocal_loss import VarifocalLoss, varifocal_loss

__all__ = [
    'accuracy', 'Accuracy', 'cross_entropy', 'binary_cross_entropy', 'mask_cross_entropy',
    'CrossEntropyLoss', 'sigmoid_focal_loss', 'py_focal_loss_with_prob', 'FocalLoss',
    'smooth_l1_loss', 'SmoothL1Loss', 'l1_loss', 'L1Loss', 'iou_loss', 'giou_loss', 'IoULoss',
    'GIoULoss', 'reduce_loss', 'weight_reduce_loss', 'weighted_loss', 'balanced_l1_loss',
    'BalancedL1Loss', 'bounded_iou_loss', 'BoundedIoULoss', 'diou_loss', 'ciou_loss',
    'DIoULoss', 'CIoULoss', 'mse_loss', 'MSELoss', 'GHMC', 'GHMR', 'seesaw_ce_loss',
    'SeesawLoss', 'quality_focal_loss', 'quality_focal_loss_with_prob',
    'distribution_focal_loss', 'QualityFocalLoss', 'DistributionFocalLoss', 'varifocal_loss',
    'VarifocalLoss', 'gaussian_focal_loss', 'GaussianFocalLoss',
    'knowledge_distillation_kl_div_loss', 'KnowledgeDistillationKLDivLoss',
    'AssociativeEmbeddingLoss', 'dice_loss', 'DiceLoss', 'isr_p', 'carl_loss'
]
