from .base import BaseDetector
from .faster_rcnn import FasterRCNN
from .mask_rcnn import MaskRCNN
from .retinanet import RetinaNet
from .rpn import RPN
from .single_stage import SingleStageDetector
from .two_stage import TwoStageDetector

__all__ = ['BaseDetector', 'SingleStageDetector', 'RetinaNet', 'RPN']
__all__ += ['TwoStageDetector', 'FasterRCNN', 'MaskRCNN']
