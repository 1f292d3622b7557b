import pytest
import torch
import torch.nn.functional as F

from mmdet_lite.models.backbones import SwinTransformer
from mmdet_lite.models.backbones.swin import ShiftWindowMSA, swin_converter

pytestmark = pytest.mark.usefixtures('one_thread')


def tiny(**kwargs):
    cfg = dict(embed_dims=8, depths=(2, 2, 1, 1), num_heads=(1, 2, 2, 4), window_size=3,
               mlp_ratio=2)
    cfg.update(kwargs)
    return SwinTransformer(**cfg)


def test_swin_shapes_padding_and_init():
    model = tiny()
    model.init_weights()
    assert model.stages[0].blocks[1].attn.shift_size == 1
    assert model.stages[0].blocks[0].attn.shift_size == 0
    assert model.stages[0].blocks[0].attn.w_msa.relative_position_bias_table.std() > 0
    outs = model(torch.randn(2, 3, 38, 50))
    # 38x50 → patches 10x13 (corner padding) → 5x7 → 3x4 → 2x2
    assert [tuple(o.shape) for o in outs] == [(2, 8, 10, 13), (2, 16, 5, 7), (2, 32, 3, 4),
                                              (2, 64, 2, 2)]


def test_swin_relative_position_index_is_the_offset_table_row():
    attn = ShiftWindowMSA(4, 1, window_size=3).w_msa
    index = attn.relative_position_index
    # token 0 = (0, 0), token 5 = (1, 2): offset (-1, -2) → row (-1 + 2) * 5 + (-2 + 2) = 5
    assert index[0, 5] == 5 and index[5, 0] == (1 + 2) * 5 + (2 + 2)
    assert index.diagonal().eq(2 * 5 + 2).all()


def test_swin_frozen_stages_and_out_indices():
    model = tiny(out_indices=(1, 3), frozen_stages=1)
    model.train()
    assert not hasattr(model, 'norm0') and hasattr(model, 'norm3')
    assert not any(p.requires_grad for p in model.patch_embed.parameters())
    assert not any(p.requires_grad for p in model.stages[0].parameters())
    assert all(p.requires_grad for p in model.stages[1].parameters())
    assert not model.stages[0].training and model.stages[1].training
    assert len(model(torch.randn(1, 3, 32, 32))) == 2


def original_patch_merging(x, hw, norm_w, norm_b, reduction_w):
    """Swin's original PatchMerging: cat of the (0,0), (1,0), (0,1), (1,1) neighbours."""
    n, _, c = x.shape
    x = x.view(n, *hw, c)
    x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    x = F.layer_norm(x.view(n, -1, 4 * c), (4 * c,), norm_w, norm_b)
    return x @ reduction_w.t()


def test_swin_converter_maps_an_original_release(tmp_path):
    torch.manual_seed(0)
    model = tiny()
    model.init_weights()
    original = {}
    for k, v in model.state_dict().items():
        if k.startswith('norm'):
            continue  # output norms: not in classification releases
        k = k.replace('stages', 'layers').replace('attn.w_msa.', 'attn.')
        k = k.replace('ffn.layers.0.0.', 'mlp.fc1.').replace('ffn.layers.1.', 'mlp.fc2.')
        k = k.replace('patch_embed.projection', 'patch_embed.proj')
        original[k] = torch.randn_like(v.float()).to(v.dtype) if v.is_floating_point() else v
    original['head.weight'] = torch.randn(10, 64)
    original['norm.weight'] = torch.ones(64)
    # the original merging order, checked against nn.Unfold + converted weights below
    converted = swin_converter(original)
    assert 'backbone.head.weight' not in converted
    assert 'backbone.stages.0.blocks.0.attn.w_msa.qkv.weight' in converted
    path = tmp_path / 'swin_tiny_original.pth'
    torch.save({'model': original}, path)
    loaded = tiny(convert_weights=True, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    loaded.init_weights()
    merge = loaded.stages[0].downsample
    x = torch.randn(1, 6 * 8, 8)
    ours, hw = merge(x, (6, 8))
    ref = original_patch_merging(x, (6, 8), original['layers.0.downsample.norm.weight'],
                                 original['layers.0.downsample.norm.bias'],
                                 original['layers.0.downsample.reduction.weight'])
    assert hw == (3, 4)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(loaded.stages[1].blocks[0].attn.w_msa.qkv.weight,
                               original['layers.1.blocks.0.attn.qkv.weight'])


def test_swin_loads_detector_checkpoint_and_resizes_position_tables(tmp_path):
    src = tiny(window_size=3)
    src.init_weights()
    path = tmp_path / 'det.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()}}, path)
    same = tiny(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    same.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(same.state_dict()[k], v), k
    bigger = tiny(window_size=4, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    bigger.init_weights()
    assert bigger.stages[0].blocks[0].attn.w_msa.relative_position_bias_table.shape == (49, 1)
    with pytest.raises(KeyError, match='convert_weights=True'):
        torch.save({'unrelated.weight': torch.zeros(1)}, tmp_path / 'bad.pth')
        tiny(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'bad.pth'))).init_weights()


def test_swin_argument_errors():
    with pytest.raises(ValueError, match='patch_size'):
        SwinTransformer(strides=(2, 2, 2, 2))
    with pytest.raises(ValueError, match='one value per stage'):
        SwinTransformer(depths=(2, 2), num_heads=(1, 2, 4))
