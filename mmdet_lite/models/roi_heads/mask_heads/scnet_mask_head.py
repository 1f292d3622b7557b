"""SCNetMaskHead: SCNet's mask head, an :class:`FCNMaskHead` whose convs are, with
``conv_to_res``, ``num_convs // 2`` residual :class:`SimplifiedBasicBlock` s."""
from ...builder import HEADS
from ...utils.res_layer import ResLayer
from ...utils.simplified_basic_block import SimplifiedBasicBlock
from .fcn_mask_head import FCNMaskHead


@HEADS.register_module()
class SCNetMaskHead(FCNMaskHead):
    """FCNMaskHead with residual convs.

    Args:
        conv_to_res: replace the convs by ``num_convs // 2`` ``SimplifiedBasicBlock`` s (3x3
            kernels only).
        **kwargs: :class:`FCNMaskHead`'s arguments.
    """

    def __init__(self, conv_to_res: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.conv_to_res = conv_to_res
        if conv_to_res:
            if self.conv_kernel_size != 3:
                raise ValueError('SCNetMaskHead with conv_to_res needs conv_kernel_size=3, got '
                                 f'{self.conv_kernel_size}')
            self.num_res_blocks = self.num_convs // 2
            self.convs = ResLayer(SimplifiedBasicBlock, self.in_channels,
                                  self.conv_out_channels, self.num_res_blocks,
                                  conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)
