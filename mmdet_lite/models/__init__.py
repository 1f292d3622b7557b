from . import backbones, dense_heads, detectors, losses, necks, roi_heads  # noqa: F401 (registers)
# 2.x's flat ``mmdet.models`` namespace: every public class of the sub-packages, by name.
from .backbones import (CSPDarknet, Darknet, DetectoRS_ResNet, DetectoRS_ResNeXt, EfficientNet,
                        HourglassNet, HRNet, MobileNetV2, PyramidVisionTransformer,
                        PyramidVisionTransformerV2, RegNet, Res2Net, ResNeSt, ResNet, ResNetV1d,
                        ResNeXt, SSDVGG, SwinTransformer, TridentResNet)
from .dense_heads import (AnchorFreeHead, AnchorHead, ATSSHead, AutoAssignHead, BaseDenseHead,
                          CascadeRPNHead, CenterNetHead, CentripetalHead, CornerHead, DDODHead,
                          FCOSHead, FeatureAdaption, FoveaHead, FreeAnchorRetinaHead, FSAFHead,
                          GARetinaHead, GARPNHead, GFLHead, GuidedAnchorHead, LADHead, LDHead,
                          NASFCOSHead, PAAHead, RepPointsHead, RetinaHead, RetinaSepBNHead,
                          RPNHead, SABLRetinaHead, SSDHead, StageCascadeRPNHead, TOODHead,
                          VFNetHead, YOLOFHead, YOLOV3Head, YOLOXHead)
from .detectors import (ATSS, AutoAssign, BaseDetector, CascadeRCNN, CenterNet, CornerNet, DDOD,
                        FasterRCNN, FastRCNN, FCOS, FOVEA, FSAF, GFL, GridRCNN, HybridTaskCascade,
                        KnowledgeDistillationSingleStageDetector, LAD, MaskRCNN, MaskScoringRCNN,
                        NASFCOS, PAA, PointRend, RepPointsDetector, RetinaNet, RPN, SCNet,
                        SingleStageDetector, TOOD, TridentFasterRCNN, TwoStageDetector, VFNet,
                        YOLOF, YOLOV3, YOLOX)
from .losses import (accuracy, Accuracy, AssociativeEmbeddingLoss, balanced_l1_loss,
                     BalancedL1Loss, binary_cross_entropy, bounded_iou_loss, BoundedIoULoss,
                     carl_loss, ciou_loss, CIoULoss, cross_entropy, CrossEntropyLoss, dice_loss,
                     DiceLoss, diou_loss, DIoULoss, distribution_focal_loss, DistributionFocalLoss,
                     FocalLoss, gaussian_focal_loss, GaussianFocalLoss, GHMC, GHMR, giou_loss,
                     GIoULoss, iou_loss, IoULoss, isr_p, knowledge_distillation_kl_div_loss,
                     KnowledgeDistillationKLDivLoss, l1_loss, L1Loss, mask_cross_entropy, mse_loss,
                     MSELoss, py_focal_loss_with_prob, quality_focal_loss,
                     quality_focal_loss_with_prob, QualityFocalLoss, reduce_loss, seesaw_ce_loss,
                     SeesawLoss, sigmoid_focal_loss, smooth_l1_loss, SmoothL1Loss, varifocal_loss,
                     VarifocalLoss, weight_reduce_loss, weighted_loss)
from .necks import (BFP, ChannelMapper, CTResNetNeck, DilatedEncoder, DyHead, FPG, FPN, FPN_CARAFE,
                    HRFPN, NASFCOS_FPN, NASFPN, PAFPN, RFP, SSDNeck, YOLOV3Neck, YOLOXPAFPN)
from .plugins import (DropBlock)
from .roi_heads import (BaseRoIExtractor, BaseRoIHead, BBoxHead, BBoxTestMixin, CascadeRoIHead,
                        ConvFCBBoxHead, DoubleConvFCBBoxHead, DoubleHeadRoIHead, DynamicRoIHead,
                        FCNMaskHead, FeatureRelayHead, FusedSemanticHead, GenericRoIExtractor,
                        GlobalContextHead, GridHead, GridRoIHead, HTCMaskHead,
                        HybridTaskCascadeRoIHead, MaskIoUHead, MaskScoringRoIHead, MaskTestMixin,
                        PISARoIHead, PointRendRoIHead, ResLayer, SCNetBBoxHead, SCNetMaskHead,
                        SCNetRoIHead, SCNetSemanticHead, Shared2FCBBoxHead, Shared4Conv1FCBBoxHead,
                        SingleRoIExtractor, StandardRoIHead, TridentRoIHead)
from .builder import (BACKBONES, DETECTORS, HEADS, LOSSES, NECKS, ROI_EXTRACTORS, SHARED_HEADS,
                      build_backbone, build_detector, build_head, build_loss, build_neck,
                      build_roi_extractor, build_shared_head)

__all__ = [
    'BACKBONES', 'NECKS', 'HEADS', 'LOSSES', 'DETECTORS', 'ROI_EXTRACTORS', 'SHARED_HEADS',
    'build_backbone', 'build_neck', 'build_head', 'build_loss', 'build_detector',
    'build_roi_extractor', 'build_shared_head'
]
__all__ += [
    'CSPDarknet', 'Darknet', 'DetectoRS_ResNet', 'DetectoRS_ResNeXt', 'EfficientNet',
    'HourglassNet', 'HRNet', 'MobileNetV2', 'PyramidVisionTransformer',
    'PyramidVisionTransformerV2', 'RegNet', 'Res2Net', 'ResNeSt', 'ResNet', 'ResNetV1d', 'ResNeXt',
    'SSDVGG', 'SwinTransformer', 'TridentResNet', 'AnchorFreeHead', 'AnchorHead', 'ATSSHead',
    'AutoAssignHead', 'BaseDenseHead', 'CascadeRPNHead', 'CenterNetHead', 'CentripetalHead',
    'CornerHead', 'DDODHead', 'FCOSHead', 'FeatureAdaption', 'FoveaHead', 'FreeAnchorRetinaHead',
    'FSAFHead', 'GARetinaHead', 'GARPNHead', 'GFLHead', 'GuidedAnchorHead', 'LADHead', 'LDHead',
    'NASFCOSHead', 'PAAHead', 'RepPointsHead', 'RetinaHead', 'RetinaSepBNHead', 'RPNHead',
    'SABLRetinaHead', 'SSDHead', 'StageCascadeRPNHead', 'TOODHead', 'VFNetHead', 'YOLOFHead',
    'YOLOV3Head', 'YOLOXHead', 'ATSS', 'AutoAssign', 'BaseDetector', 'CascadeRCNN', 'CenterNet',
    'CornerNet', 'DDOD', 'FasterRCNN', 'FastRCNN', 'FCOS', 'FOVEA', 'FSAF', 'GFL', 'GridRCNN',
    'HybridTaskCascade', 'KnowledgeDistillationSingleStageDetector', 'LAD', 'MaskRCNN',
    'MaskScoringRCNN', 'NASFCOS', 'PAA', 'PointRend', 'RepPointsDetector', 'RetinaNet', 'RPN',
    'SCNet', 'SingleStageDetector', 'TOOD', 'TridentFasterRCNN', 'TwoStageDetector', 'VFNet',
    'YOLOF', 'YOLOV3', 'YOLOX', 'accuracy', 'Accuracy', 'AssociativeEmbeddingLoss',
    'balanced_l1_loss', 'BalancedL1Loss', 'binary_cross_entropy', 'bounded_iou_loss',
    'BoundedIoULoss', 'carl_loss', 'ciou_loss', 'CIoULoss', 'cross_entropy', 'CrossEntropyLoss',
    'dice_loss', 'DiceLoss', 'diou_loss', 'DIoULoss', 'distribution_focal_loss',
    'DistributionFocalLoss', 'FocalLoss', 'gaussian_focal_loss', 'GaussianFocalLoss', 'GHMC',
    'GHMR', 'giou_loss', 'GIoULoss', 'iou_loss', 'IoULoss', 'isr_p',
    'knowledge_distillation_kl_div_loss', 'KnowledgeDistillationKLDivLoss', 'l1_loss', 'L1Loss',
    'mask_cross_entropy', 'mse_loss', 'MSELoss', 'py_focal_loss_with_prob', 'quality_focal_loss',
    'quality_focal_loss_with_prob', 'QualityFocalLoss', 'reduce_loss', 'seesaw_ce_loss',
    'SeesawLoss', 'sigmoid_focal_loss', 'smooth_l1_loss', 'SmoothL1Loss', 'varifocal_loss',
    'VarifocalLoss', 'weight_reduce_loss', 'weighted_loss', 'BFP', 'ChannelMapper', 'CTResNetNeck',
    'DilatedEncoder', 'DyHead', 'FPG', 'FPN', 'FPN_CARAFE', 'HRFPN', 'NASFCOS_FPN', 'NASFPN',
    'PAFPN', 'RFP', 'SSDNeck', 'YOLOV3Neck', 'YOLOXPAFPN', 'DropBlock', 'BaseRoIExtractor',
    'BaseRoIHead', 'BBoxHead', 'BBoxTestMixin', 'CascadeRoIHead', 'ConvFCBBoxHead',
    'DoubleConvFCBBoxHead', 'DoubleHeadRoIHead', 'DynamicRoIHead', 'FCNMaskHead',
    'FeatureRelayHead', 'FusedSemanticHead', 'GenericRoIExtractor', 'GlobalContextHead',
    'GridHead', 'GridRoIHead', 'HTCMaskHead', 'HybridTaskCascadeRoIHead', 'MaskIoUHead',
    'MaskScoringRoIHead', 'MaskTestMixin', 'PISARoIHead', 'PointRendRoIHead', 'ResLayer',
    'SCNetBBoxHead', 'SCNetMaskHead', 'SCNetRoIHead', 'SCNetSemanticHead', 'Shared2FCBBoxHead',
    'Shared4Conv1FCBBoxHead', 'SingleRoIExtractor', 'StandardRoIHead', 'TridentRoIHead'
]
