import pytest
import torch

from mmdet_lite.models.backbones import PyramidVisionTransformer, PyramidVisionTransformerV2
from mmdet_lite.models.backbones.pvt import pvt_convert

pytestmark = pytest.mark.usefixtures('one_thread')

TINY = dict(embed_dims=4, num_layers=(1, 1, 1, 1), num_heads=(1, 2, 2, 4),
            mlp_ratios=(2, 2, 2, 2))


def test_pvt_v1_and_v2_shapes_and_layout():
    v1 = PyramidVisionTransformer(pretrain_img_size=32, **TINY)
    v1.init_weights()
    assert [tuple(o.shape) for o in v1(torch.randn(2, 3, 64, 64))] == [
        (2, 4, 16, 16), (2, 8, 8, 8), (2, 8, 4, 4), (2, 16, 2, 2)]
    assert v1.layers[0][1][0].pos_embed.shape == (1, 64, 4)  # 32 / 4 = 8 → 8 x 8 positions
    assert isinstance(v1.layers[0][2], torch.nn.Identity)
    v2 = PyramidVisionTransformerV2(out_indices=(0, 3), **TINY)
    v2.init_weights()
    outs = v2(torch.randn(1, 3, 50, 66))
    assert [tuple(o.shape) for o in outs] == [(1, 4, 13, 17), (1, 16, 2, 3)]
    assert v2.layers[0][0].projection.kernel_size == (7, 7)
    assert v2.layers[1][1][0].ffn.layers[1].groups == 16  # depth-wise conv in the MLP
    with pytest.raises(TypeError, match='patch_sizes'):
        PyramidVisionTransformerV2(patch_sizes=(4, 2, 2, 2))
    with pytest.raises(ValueError, match='num_stages=4'):
        PyramidVisionTransformer(num_layers=(1, 1))


def to_original(model):
    """The state dict of ``model`` under the original PVT release's names."""
    use_pos = any('pos_embed' in k for k in model.state_dict())
    out = {}
    for k, v in model.state_dict().items():
        parts = k.split('.')
        stage = int(parts[1]) + 1
        if parts[2] == '0':
            out[f'patch_embed{stage}.' + '.'.join(parts[3:]).replace('projection', 'proj')] = v
        elif parts[2] == '2':
            out[f'norm{stage}.{parts[-1]}'] = v
        elif parts[4] == 'pos_embed':
            out[f'pos_embed{stage}'] = v
        else:
            block = f'block{stage}.{int(parts[3]) - use_pos}.'
            rest = '.'.join(parts[4:])
            if 'in_proj_' in rest:
                param = rest.split('in_proj_')[1]
                dims = v.shape[0] // 3
                out[block + 'attn.q.' + param] = v[:dims]
                out[block + 'attn.kv.' + param] = v[dims:]
            elif 'out_proj' in rest:
                out[block + 'attn.proj.' + parts[-1]] = v
            elif rest.startswith('ffn.layers.'):
                index = int(parts[6])
                name = {0: 'fc1', 1: 'dwconv.dwconv'}.get(index, 'fc2')
                out[block + f'mlp.{name}.{parts[-1]}'] = (v.flatten(1) if name != 'dwconv.dwconv'
                                                         and v.dim() == 4 else v)
            else:
                out[block + rest] = v
    out['head.weight'] = torch.zeros(10, 16)
    out['norm.weight'] = torch.zeros(16)
    return out


@pytest.mark.parametrize('cls', [PyramidVisionTransformer, PyramidVisionTransformerV2])
def test_pvt_loads_an_original_release(cls, tmp_path):
    torch.manual_seed(0)
    kwargs = dict(TINY, pretrain_img_size=32) if cls is PyramidVisionTransformer else TINY
    src = cls(**kwargs)
    src.init_weights()
    original = to_original(src)
    assert 'block1.0.attn.kv.weight' in original and 'block1.0.mlp.fc1.weight' in original
    path = tmp_path / 'pvt_original.pth'
    torch.save(original, path)
    model = cls(init_cfg=dict(checkpoint=str(path)), **kwargs)  # 2.x configs give no type
    model.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    assert set(pvt_convert(original)) == set(src.state_dict())


@pytest.mark.parametrize('convert_weights', [True, False])
def test_pvt_loads_an_mmdet_detector_checkpoint(convert_weights, tmp_path):
    # mmdetection names pass through pvt_convert unchanged, so either setting loads them
    src = PyramidVisionTransformerV2(**TINY)
    path = tmp_path / 'det.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()}}, path)
    ckpt = dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
    model = PyramidVisionTransformerV2(init_cfg=ckpt, convert_weights=convert_weights, **TINY)
    model.init_weights()
    assert torch.equal(model.layers[2][1][0].attn.sr.weight, src.layers[2][1][0].attn.sr.weight)
    with pytest.raises(KeyError, match='lacks'):
        PyramidVisionTransformerV2(init_cfg=dict(checkpoint=str(path)), **TINY).init_weights()
