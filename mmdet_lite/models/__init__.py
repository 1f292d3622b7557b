from . import backbones, dense_heads, detectors, losses, necks, roi_heads  # noqa: F401 (registers)
from .builder import (BACKBONES, DETECTORS, HEADS, LOSSES, NECKS, ROI_EXTRACTORS, SHARED_HEADS,
                      build_backbone, build_detector, build_head, build_loss, build_neck,
                      build_roi_extractor, build_shared_head)

__all__ = [
    'BACKBONES', 'NECKS', 'HEADS', 'LOSSES', 'DETECTORS', 'ROI_EXTRACTORS', 'SHARED_HEADS',
    'build_backbone', 'build_neck', 'build_head', 'build_loss', 'build_detector',
    'build_roi_extractor', 'build_shared_head'
]
