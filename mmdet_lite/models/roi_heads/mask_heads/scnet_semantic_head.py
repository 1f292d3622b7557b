"""SCNetSemanticHead: SCNet's semantic branch, a :class:`FusedSemanticHead` whose 3x3 convs are,
with ``conv_to_res``, ``num_convs // 2`` residual :class:`SimplifiedBasicBlock` s."""
from ...builder import HEADS
from ...utils.res_layer import ResLayer
from ...utils.simplified_basic_block import SimplifiedBasicBlock
from .fused_semantic_head import FusedSemanticHead


@HEADS.register_module()
class SCNetSemanticHead(FusedSemanticHead):
    """FusedSemanticHead with residual convs.

    Args:
        conv_to_res: replace the convs by ``num_convs // 2`` ``SimplifiedBasicBlock`` s
            (``num_convs`` then counts the blocks, as 2.x).
        **kwargs: :class:`FusedSemanticHead`'s arguments.
    """

    def __init__(self, conv_to_res: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.conv_to_res = conv_to_res
        if conv_to_res:
            num_res_blocks = self.num_convs // 2
            self.convs = ResLayer(SimplifiedBasicBlock, self.in_channels,
                                  self.conv_out_channels, num_res_blocks,
                                  conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)
            self.num_convs = num_res_blocks
