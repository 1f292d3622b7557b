"""SCNet (Vu et al., arXiv:2012.10150): a :class:`CascadeRCNN` whose RoI head is a
:class:`~mmdet_lite.models.roi_heads.SCNetRoIHead`."""
from ..builder import DETECTORS
from .cascade_rcnn import CascadeRCNN


@DETECTORS.register_module()
class SCNet(CascadeRCNN):
    """Implementation of `SCNet <https://arxiv.org/abs/2012.10150>`_ (arguments of
    :class:`CascadeRCNN`)."""
