import pytest
import torch

from mmdet_lite.models.necks import YOLOXPAFPN


def test_yolox_pafpn_shapes_and_errors(one_thread):
    neck = YOLOXPAFPN([8, 16, 32], 4, num_csp_blocks=1)
    neck.init_weights()
    feats = [torch.randn(2, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate((8, 16, 32))]
    outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [(2, 4, 16, 16), (2, 4, 8, 8), (2, 4, 4, 4)]
    assert len(neck.reduce_layers) == len(neck.downsamples) == 2
    with pytest.raises(ValueError, match='3 inputs'):
        neck(feats[:2])
