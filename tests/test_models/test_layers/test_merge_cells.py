import torch

from mmdet_lite.models.layers.merge_cells import ConcatCell, GlobalPoolingCell, SumCell


def test_merge_cell_resizing():
    cell = SumCell(2, 2, with_out_conv=False)
    x = torch.arange(2 * 5 * 5, dtype=torch.float32).view(1, 2, 5, 5)
    # shrinking 5x5 to 2x2: zero-pad to 6x6 (1 before, 0... split as pad // 2), 3x3 max-pool
    small = cell._resize(x, (2, 2))
    padded = torch.nn.functional.pad(x, (0, 1, 0, 1))
    torch.testing.assert_close(small, torch.nn.functional.max_pool2d(padded, 3, 3))
    big = cell._resize(torch.ones(1, 2, 2, 2), (4, 4))
    assert big.shape == (1, 2, 4, 4)
    out = cell(torch.ones(1, 2, 2, 2), torch.ones(1, 2, 4, 4))  # default size: the larger
    torch.testing.assert_close(out, torch.full((1, 2, 4, 4), 2.0))


def test_global_pooling_and_concat_cells():
    x1, x2 = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    gp = GlobalPoolingCell(with_out_conv=False)
    torch.testing.assert_close(gp(x1, x2), x2 + x2.mean((2, 3), keepdim=True).sigmoid() * x1)
    cat = ConcatCell(3, 5, with_input1_conv=True)
    assert cat.out_conv.conv.in_channels == 6 and cat.input1_conv.conv.in_channels == 5
    assert len(cat.input2_conv) == 0
