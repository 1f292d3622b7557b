from .anchor_head import AnchorHead
from .base_dense_head import BaseDenseHead
from .dense_test_mixins import BBoxTestMixin
from .retina_head import RetinaHead
from .rpn_head import RPNHead

__all__ = ['BaseDenseHead', 'BBoxTestMixin', 'AnchorHead', 'RPNHead', 'RetinaHead']
