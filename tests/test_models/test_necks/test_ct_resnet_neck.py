import torch

from mmdet_lite.models.necks import CTResNetNeck


def test_ct_resnet_neck_bilinear_init_and_dcn(one_thread):
    neck = CTResNetNeck(8, (4, 4), (4, 4), use_dcn=False)
    neck.init_weights()
    deconv = neck.deconv_layers[1].conv
    assert isinstance(deconv, torch.nn.ConvTranspose2d)
    torch.testing.assert_close(deconv.weight[0, 0], torch.tensor(
        [[.0625, .1875, .1875, .0625], [.1875, .5625, .5625, .1875],
         [.1875, .5625, .5625, .1875], [.0625, .1875, .1875, .0625]]))
    (out,) = neck([torch.randn(2, 8, 4, 4)])
    assert out.shape == (2, 4, 16, 16)
    dcn = CTResNetNeck(8, (4,), (4,))
    assert 'deconv_layers.0.conv.conv_offset.weight' in dcn.state_dict()
    assert dcn([torch.randn(1, 8, 4, 4)])[0].shape == (1, 4, 8, 8)
