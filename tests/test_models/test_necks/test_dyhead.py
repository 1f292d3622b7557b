import pytest
import torch

from mmdet_lite.models.necks import DyHead
from mmdet_lite.models.necks.dyhead import DyDCNv2


def test_dyhead_shapes_zero_offset_init_and_init_cfg(one_thread):
    neck = DyHead(8, 16, num_blocks=2)
    block = neck.dyhead_blocks[0]
    assert torch.all(block.spatial_conv_offset.weight == 0)
    assert block.spatial_conv_mid.conv.bias is None  # GroupNorm follows
    outs = neck([torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4), torch.randn(1, 8, 2, 2)])
    assert [tuple(o.shape) for o in outs] == [(1, 16, 8, 8), (1, 16, 4, 4), (1, 16, 2, 2)]
    with pytest.raises(ValueError, match='init_cfg'):
        DyHead(8, 16, init_cfg=dict(type='Xavier'))


def test_dydcnv2_reads_larger_offsets_as_mmcv_kernel_does():
    torch.manual_seed(0)
    conv = DyDCNv2(4, 16)
    x = torch.randn(2, 4, 3, 5)
    offset = torch.randn(2, 18, 6, 10)
    mask = torch.rand(2, 9, 6, 10)
    # the first 18 * 3 * 5 values of each image's offset memory, as a (18, 3, 5) map
    want = conv(x, offset.flatten(1)[:, :18 * 15].reshape(2, 18, 3, 5),
                mask.flatten(1)[:, :9 * 15].reshape(2, 9, 3, 5))
    torch.testing.assert_close(conv(x, offset, mask), want)
    with pytest.raises(ValueError, match='cannot cover'):
        conv(x, offset[:, :, :2, :2], mask[:, :, :2, :2])
