"""2.x's ``mmdet.models.plugins``: the plugin layers live in ``models/layers``; re-exported here.

2.x also held the pixel decoders of MaskFormer / Mask2Former here, which mmdet_lite does not
build (docs/migration.md).
"""
from ..layers.dropblock import DropBlock

__all__ = ['DropBlock']
