import torch

from mmdet_lite.models.necks import FPN, PAFPN


def test_pafpn_adds_a_bottom_up_path_to_fpn(one_thread):
    torch.manual_seed(0)
    feats = [torch.randn(1, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate((4, 8, 16))]
    neck = PAFPN([4, 8, 16], 8, num_outs=4, add_extra_convs='on_output')
    neck.init_weights()
    outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [(1, 8, 16, 16), (1, 8, 8, 8), (1, 8, 4, 4),
                                              (1, 8, 2, 2)]
    assert len(neck.downsample_convs) == len(neck.pafpn_convs) == 2
    fpn = FPN([4, 8, 16], 8, num_outs=4, add_extra_convs='on_output')
    fpn.load_state_dict(neck.state_dict(), strict=False)
    # the finest level has no bottom-up input: equal to FPN's
    torch.testing.assert_close(outs[0], fpn(feats)[0])
