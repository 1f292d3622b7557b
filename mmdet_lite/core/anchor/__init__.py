from .anchor_generator import AnchorGenerator
from .legacy_anchor_generator import LegacyAnchorGenerator
from .point_generator import MlvlPointGenerator, PointGenerator
from .ssd_anchor_generator import LegacySSDAnchorGenerator, SSDAnchorGenerator
from .yolo_anchor_generator import YOLOAnchorGenerator
from .builder import (ANCHOR_GENERATORS, PRIOR_GENERATORS, build_anchor_generator,
                      build_prior_generator)
from .utils import anchor_inside_flags, calc_region, images_to_levels

__all__ = [
    'AnchorGenerator', 'ANCHOR_GENERATORS', 'PRIOR_GENERATORS', 'build_anchor_generator',
    'build_prior_generator', 'anchor_inside_flags', 'calc_region', 'images_to_levels',
    'LegacyAnchorGenerator', 'MlvlPointGenerator', 'PointGenerator', 'LegacySSDAnchorGenerator',
    'SSDAnchorGenerator', 'YOLOAnchorGenerator'
]
