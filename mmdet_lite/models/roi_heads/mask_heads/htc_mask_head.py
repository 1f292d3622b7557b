"""HTCMaskHead: Hybrid Task Cascade's mask head, an :class:`FCNMaskHead` that also takes the
previous stage's mask features (mask information flow) through a 1x1 ``conv_res``.

Shapes: ``P`` RoIs, ``D`` = ``conv_out_channels``, ``(h, w)`` the pooled RoI size,
``C`` classes.
"""
from typing import List, Optional, Union

from mmcv.cnn import ConvModule
from torch import Tensor

from ...builder import HEADS
from .fcn_mask_head import FCNMaskHead


@HEADS.register_module()
class HTCMaskHead(FCNMaskHead):
    """FCN mask head with mask information flow.

    Args:
        with_conv_res: build ``conv_res`` (1x1 ``ConvModule``, D -> D) that maps the previous
            stage's features before they are added to the input.
        *args / **kwargs: :class:`FCNMaskHead`'s arguments.
    """

    def __init__(self, with_conv_res: bool = True, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.with_conv_res = with_conv_res
        if with_conv_res:
            self.conv_res = ConvModule(self.conv_out_channels, self.conv_out_channels, 1,
                                       conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)

    def forward(self, x: Tensor, res_feat: Optional[Tensor] = None, return_logits: bool = True,
                return_feat: bool = True) -> Union[Tensor, List[Tensor]]:
        """Mask logits and/or this stage's features.

        Args:
            x: pooled RoI features (P, in_channels, h, w) (``in_channels`` = D when
                ``res_feat`` is given).
            res_feat: the previous stage's features (P, D, h, w), or None for the first stage.
            return_logits / return_feat: what to return.
        Returns:
            ``[logits (P, C, 2h, 2w), feats (P, D, h, w)]`` when both are asked for (2.x's
            list), otherwise the one asked for.
        """
        if not (return_logits or return_feat):
            raise ValueError('HTCMaskHead.forward: ask for return_logits and/or return_feat')
        if res_feat is not None:
            if not self.with_conv_res:
                raise ValueError('HTCMaskHead got res_feat but was built with '
                                 'with_conv_res=False; build it with with_conv_res=True')
            x = x + self.conv_res(res_feat)
        for conv in self.convs:
            x = conv(x)
        outs = []
        if return_logits:
            outs.append(self.forward_logits(x))
        if return_feat:
            outs.append(x)
        return outs if len(outs) > 1 else outs[0]
