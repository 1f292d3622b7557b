from .atss import ATSS
from .autoassign import AutoAssign
from .base import BaseDetector
from .cascade_rcnn import CascadeRCNN
from .centernet import CenterNet
from .cornernet import CornerNet
from .ddod import DDOD
from .fast_rcnn import FastRCNN
from .faster_rcnn import FasterRCNN
from .kd_one_stage import KnowledgeDistillationSingleStageDetector
from .lad import LAD
from .point_rend import PointRend
from .trident_faster_rcnn import TridentFasterRCNN
from .fcos import FCOS
from .fovea import FOVEA
from .fsaf import FSAF
from .gfl import GFL
from .grid_rcnn import GridRCNN
from .htc import HybridTaskCascade
from .mask_rcnn import MaskRCNN
from .mask_scoring_rcnn import MaskScoringRCNN
from .nasfcos import NASFCOS
from .paa import PAA
from .reppoints_detector import RepPointsDetector
from .retinanet import RetinaNet
from .rpn import RPN
from .scnet import SCNet
from .single_stage import SingleStageDetector
from .tood import TOOD
from .two_stage import TwoStageDetector
from .vfnet import VFNet
from .yolo import YOLOV3
from .yolof import YOLOF
from .yolox import YOLOX

__all__ = ['BaseDetector', 'SingleStageDetector', 'RetinaNet', 'RPN', 'FCOS', 'ATSS', 'GFL',
           'YOLOV3', 'VFNet', 'TOOD', 'RepPointsDetector', 'FOVEA', 'PAA', 'YOLOX', 'NASFCOS',
           'FSAF', 'AutoAssign', 'CenterNet', 'DDOD', 'YOLOF', 'CornerNet',
           'KnowledgeDistillationSingleStageDetector', 'LAD']
__all__ += ['TwoStageDetector', 'FasterRCNN', 'MaskRCNN']

# the R-CNN family of issue 10
__all__ += ['CascadeRCNN']
__all__ += ['HybridTaskCascade', 'FastRCNN', 'MaskScoringRCNN', 'GridRCNN', 'SCNet']
__all__ += ['TridentFasterRCNN']
__all__ += ['PointRend']
