"""SCNetBBoxHead: SCNet's box head, a :class:`ConvFCBBoxHead` that can also return its shared
features (relayed to the mask branch by ``FeatureRelayHead``)."""
from typing import Optional, Tuple, Union

from torch import Tensor

from ...builder import HEADS
from .convfc_bbox_head import ConvFCBBoxHead


@HEADS.register_module()
class SCNetBBoxHead(ConvFCBBoxHead):
    """ConvFCBBoxHead whose forward can append the shared features (arguments of
    :class:`ConvFCBBoxHead`)."""

    def forward(self, x: Tensor, return_shared_feat: bool = False
                ) -> Union[Tuple[Optional[Tensor], Optional[Tensor]],
                           Tuple[Optional[Tensor], Optional[Tensor], Tensor]]:
        """x (K, in_channels, h, w) -> ``(cls_score, bbox_pred)``, plus the shared features
        (K, D) when ``return_shared_feat``."""
        x_shared = self._forward_shared(x)
        out = self._forward_cls_reg(x_shared)
        if return_shared_feat:
            out += (x_shared, )
        return out
