"""Pyramid Vision Transformer v1 (Wang et al., 2021) and v2 (PVTv2, 2022).

Each stage: patch embedding (a strided conv, LayerNorm) → [absolute position embedding (v1)] →
encoder layers with spatial-reduction attention (keys/values from a map shrunk ``sr_ratio``
times) and an MLP (v2: with a 3x3 depth-wise conv) → [LayerNorm (v2)].

Shapes: input (N, in_channels, H, W); stage ``i`` outputs (N, embed_dims * num_heads[i],
H / s_i, W / s_i) with s_i = prod(strides[:i + 1]) (v1 floors, v2's padded convs round up).
Names as mmdetection 2.x (``layers.0.0.projection``, ``layers.0.1.0.attn.attn.in_proj_weight``,
``layers.0.1.0.ffn.layers.0``...); original PVT releases load through :func:`pvt_convert`.
"""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor, nn

from ...checkpoint import load_checkpoint_safely, resolve_checkpoint_path, unwrap_state_dict
from ...core.utils.errors import ConfigValueError
from ..builder import BACKBONES
from ..layers import build_norm_layer
from ..layers.transformer import PatchEmbed, build_dropout, nchw_to_nlc, nlc_to_nchw
from ..utils.pretrained import init_cfg_with_pretrained

Size = Sequence[int]


def _drop_path(rate: float) -> nn.Module:
    return build_dropout(dict(type='DropPath', drop_prob=rate))


class MixFFN(nn.Module):
    """1x1 conv → [3x3 depth-wise conv] → activation → dropout → 1x1 conv → dropout, on the
    token map; adds ``identity`` (default: the input) through ``dropout_layer``.

    Tokens (N, H * W, C) → (N, H * W, C).
    """

    def __init__(self, embed_dims: int, feedforward_channels: int,
                 act_cfg: Optional[dict] = None, ffn_drop: float = 0.,
                 dropout_layer: Optional[dict] = None, use_conv: bool = False):
        super().__init__()
        self.embed_dims = embed_dims
        self.feedforward_channels = feedforward_channels
        self.act_cfg = dict(type='GELU') if act_cfg is None else act_cfg
        drop = nn.Dropout(ffn_drop)
        layers = [nn.Conv2d(embed_dims, feedforward_channels, 1)]
        if use_conv:
            layers.append(nn.Conv2d(feedforward_channels, feedforward_channels, 3, padding=1,
                                    groups=feedforward_channels))
        # the same Dropout instance twice, as 2.x (indices of later layers depend on it)
        layers += [build_activation_layer(self.act_cfg), drop,
                   nn.Conv2d(feedforward_channels, embed_dims, 1), drop]
        self.layers = nn.Sequential(*layers)
        self.dropout_layer = build_dropout(dropout_layer) if dropout_layer else nn.Identity()

    def forward(self, x: Tensor, hw_shape: Size, identity: Optional[Tensor] = None) -> Tensor:
        out = nchw_to_nlc(self.layers(nlc_to_nchw(x, hw_shape)))
        return (x if identity is None else identity) + self.dropout_layer(out)


class SpatialReductionAttention(nn.Module):
    """Multi-head attention whose keys/values come from the map reduced by a stride-``sr_ratio``
    conv + norm (``sr_ratio=1``: plain self-attention).

    Tokens (N, H * W, C) → (N, H * W, C), plus ``identity`` (default: the input).
    """

    def __init__(self, embed_dims: int, num_heads: int, attn_drop: float = 0.,
                 proj_drop: float = 0., dropout_layer: Optional[dict] = None,
                 qkv_bias: bool = True, norm_cfg: Optional[dict] = None, sr_ratio: int = 1):
        super().__init__()
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, attn_drop, bias=qkv_bias,
                                          batch_first=True)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dropout_layer = build_dropout(dropout_layer) if dropout_layer else nn.Identity()
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = build_norm_layer(dict(type='LN') if norm_cfg is None else norm_cfg,
                                         embed_dims)[1]

    def forward(self, x: Tensor, hw_shape: Size, identity: Optional[Tensor] = None) -> Tensor:
        kv = x
        if self.sr_ratio > 1:
            kv = self.norm(nchw_to_nlc(self.sr(nlc_to_nchw(x, hw_shape))))
        out = self.attn(query=x, key=kv, value=kv, need_weights=False)[0]
        return (x if identity is None else identity) + self.dropout_layer(self.proj_drop(out))


class PVTEncoderLayer(nn.Module):
    """x + attn(norm1(x)), then + ffn(norm2(x))."""

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int,
                 drop_rate: float = 0., attn_drop_rate: float = 0., drop_path_rate: float = 0.,
                 qkv_bias: bool = True, act_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, sr_ratio: int = 1, use_conv_ffn: bool = False):
        super().__init__()
        norm_cfg = dict(type='LN') if norm_cfg is None else norm_cfg
        drop_path = dict(type='DropPath', drop_prob=drop_path_rate)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = SpatialReductionAttention(embed_dims, num_heads, attn_drop=attn_drop_rate,
                                              proj_drop=drop_rate, dropout_layer=drop_path,
                                              qkv_bias=qkv_bias, norm_cfg=norm_cfg,
                                              sr_ratio=sr_ratio)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = MixFFN(embed_dims, feedforward_channels, act_cfg=act_cfg, ffn_drop=drop_rate,
                          dropout_layer=drop_path, use_conv=use_conv_ffn)

    def forward(self, x: Tensor, hw_shape: Size) -> Tensor:
        x = self.attn(self.norm1(x), hw_shape, identity=x)
        return self.ffn(self.norm2(x), hw_shape, identity=x)


class AbsolutePositionEmbedding(nn.Module):
    """A learned (1, h * w, C) embedding, bilinearly resized to each input's token map."""

    def __init__(self, pos_shape: Union[int, Size], pos_dim: int, drop_rate: float = 0.):
        super().__init__()
        pos_shape = (pos_shape, pos_shape) if isinstance(pos_shape, int) else tuple(
            int(s) for s in pos_shape)
        if len(pos_shape) == 1:
            pos_shape = (pos_shape[0], pos_shape[0])
        self.pos_shape = pos_shape
        self.pos_dim = pos_dim
        self.pos_embed = nn.Parameter(torch.zeros(1, pos_shape[0] * pos_shape[1], pos_dim))
        self.drop = nn.Dropout(p=drop_rate)

    def init_weights(self) -> None:
        trunc_normal_(self.pos_embed, std=0.02)

    def resize_pos_embed(self, pos_embed: Tensor, input_shape: Size,
                         mode: str = 'bilinear') -> Tensor:
        """(1, h * w, C) → (1, H * W, C) for the token map size ``input_shape``."""
        h, w = self.pos_shape
        grid = pos_embed[:, -h * w:].reshape(1, h, w, self.pos_dim).permute(0, 3, 1, 2)
        return nchw_to_nlc(F.interpolate(grid, size=tuple(input_shape), mode=mode))

    def forward(self, x: Tensor, hw_shape: Size, mode: str = 'bilinear') -> Tensor:
        return self.drop(x + self.resize_pos_embed(self.pos_embed, hw_shape, mode))


def pvt_convert(state_dict: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Keys of the original PVT / PVTv2 releases (github.com/whai362/PVT) → mmdetection 2.x's.

    ``patch_embed{i}`` → ``layers.{i-1}.0`` (``proj`` → ``projection``); ``pos_embed{i}`` →
    ``layers.{i-1}.1.0.pos_embed`` (the class token of stage 4 dropped); ``block{i}.{j}`` →
    ``layers.{i-1}.1.{j (+1 with position embeddings)}`` with ``attn.q`` + ``attn.kv``
    concatenated into ``attn.attn.in_proj_*``, ``attn.proj`` → ``attn.attn.out_proj``, the MLP's
    linears as 1x1 convs ``ffn.layers.0`` / ``.3`` (``.1`` depth-wise conv and ``.4`` in v2);
    ``norm{i}`` → ``layers.{i-1}.2``. The classifier, final norm and class token are dropped.
    """
    use_pos = any(k.startswith('pos_embed') for k in state_dict)
    use_conv_ffn = any('dwconv' in k for k in state_dict)
    converted = OrderedDict()
    for k, v in state_dict.items():
        if k.startswith(('head', 'norm.', 'cls_token')) or 'attn.kv.' in k:
            continue
        new_k = k
        if k.startswith('pos_embed'):
            stage = int(k[len('pos_embed'):])
            new_k = f'layers.{stage - 1}.1.0.pos_embed'
            if stage == 4 and v.shape[1] == 50:  # class token + 7 x 7
                v = v[:, 1:, :]
        elif k.startswith('patch_embed'):
            head, rest = k.split('.', 1)
            stage = int(head[len('patch_embed'):])
            new_k = f'layers.{stage - 1}.0.' + rest.replace('proj.', 'projection.')
        elif k.startswith('block'):
            head, index, rest = k.split('.', 2)
            stage = int(head[len('block'):])
            prefix = f'layers.{stage - 1}.1.{int(index) + use_pos}.'
            if rest.startswith('attn.q.'):
                param = rest[len('attn.q.'):]
                v = torch.cat([v, state_dict[f'{head}.{index}.attn.kv.{param}']], dim=0)
                rest = 'attn.attn.in_proj_' + param
            elif rest.startswith('attn.proj.'):
                rest = 'attn.attn.out_proj.' + rest[len('attn.proj.'):]
            elif rest.startswith('mlp.'):
                if rest in ('mlp.fc1.weight', 'mlp.fc2.weight'):
                    v = v.reshape(*v.shape, 1, 1)
                fc2 = '4.' if use_conv_ffn else '3.'
                rest = ('ffn.layers.' + rest[len('mlp.'):]).replace('fc1.', '0.').replace(
                    'dwconv.dwconv.', '1.').replace('fc2.', fc2)
            new_k = prefix + rest
        elif k.startswith('norm'):
            new_k = f'layers.{int(k[4]) - 1}.2' + k[5:]
        converted[new_k] = v
    return converted


@BACKBONES.register_module()
class PyramidVisionTransformer(BaseModule):
    """PVT (v1), as mmdetection 2.x's.

    Args:
        pretrain_img_size: image size of pre-training (sets the position embeddings' size).
        in_channels: input image channels.
        embed_dims: channels per attention head; stage i has ``embed_dims * num_heads[i]``.
        num_stages: stages (every per-stage list has this many entries).
        num_layers / num_heads: encoder layers and attention heads per stage.
        patch_sizes / strides / paddings: patch embedding conv per stage.
        sr_ratios: spatial reduction of keys/values per stage.
        out_indices: stages whose outputs ``forward`` returns.
        mlp_ratios: MLP hidden width / stage width, per stage.
        qkv_bias: bias in the attention's input projections.
        drop_rate / attn_drop_rate / drop_path_rate: dropouts; stochastic depth grows linearly to
            ``drop_path_rate`` over all layers.
        use_abs_pos_embed: learned position embedding per stage (v1).
        norm_after_stage: LayerNorm at the end of each stage (v2).
        use_conv_ffn: 3x3 depth-wise conv in the MLP (v2).
        act_cfg / norm_cfg: MLP activation (GELU) and norm layers.
        pretrained: deprecated; same as ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        convert_weights: the pretrained file is an original PVT release (:func:`pvt_convert`).
        init_cfg: ``dict(checkpoint=...)`` (``type='Pretrained'`` optional, as in the 2.x
            configs; a local file or a cached name, never downloaded) or ``None``.
    """

    def __init__(self, pretrain_img_size: Union[int, Size] = 224, in_channels: int = 3,
                 embed_dims: int = 64, num_stages: int = 4,
                 num_layers: Sequence[int] = (3, 4, 6, 3), num_heads: Sequence[int] = (1, 2, 5, 8),
                 patch_sizes: Sequence[int] = (4, 2, 2, 2), strides: Sequence[int] = (4, 2, 2, 2),
                 paddings: Sequence[int] = (0, 0, 0, 0), sr_ratios: Sequence[int] = (8, 4, 2, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 mlp_ratios: Sequence[int] = (8, 8, 4, 4), qkv_bias: bool = True,
                 drop_rate: float = 0., attn_drop_rate: float = 0., drop_path_rate: float = 0.1,
                 use_abs_pos_embed: bool = True, norm_after_stage: bool = False,
                 use_conv_ffn: bool = False, act_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, pretrained: Optional[str] = None,
                 convert_weights: bool = True, init_cfg: Optional[dict] = None):
        init_cfg = init_cfg_with_pretrained(type(self).__name__, pretrained, init_cfg)
        super().__init__(init_cfg=init_cfg)
        per_stage = dict(num_layers=num_layers, num_heads=num_heads, patch_sizes=patch_sizes,
                         strides=strides, sr_ratios=sr_ratios)
        if any(len(v) != num_stages for v in per_stage.values()):
            raise ValueError(f'{type(self).__name__}: num_stages={num_stages} but '
                             + ', '.join(f'{k}={tuple(v)}' for k, v in per_stage.items()))
        if max(out_indices) >= num_stages:
            raise ValueError(f'out_indices {tuple(out_indices)} must be below '
                             f'num_stages={num_stages}')
        norm_cfg = dict(type='LN', eps=1e-6) if norm_cfg is None else norm_cfg
        if not isinstance(pretrain_img_size, int) and len(pretrain_img_size) not in (1, 2):
            raise ConfigValueError(f'{type(self).__name__} pretrain_img_size must be an int, (s, ) '
                                   f'or (h, w), got {pretrain_img_size!r}')
        img_size = ((pretrain_img_size, pretrain_img_size) if isinstance(pretrain_img_size, int)
                    else (pretrain_img_size[0], pretrain_img_size[-1]))
        self.convert_weights = convert_weights
        self.embed_dims = embed_dims
        self.num_stages = num_stages
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.patch_sizes = patch_sizes
        self.strides = strides
        self.sr_ratios = sr_ratios
        self.out_indices = tuple(out_indices)

        rates = torch.linspace(0, drop_path_rate, sum(num_layers)).tolist()
        self.layers = nn.ModuleList()
        channels, done = in_channels, 0
        for i, num_layer in enumerate(num_layers):
            dims = embed_dims * num_heads[i]
            patch_embed = PatchEmbed(in_channels=channels, embed_dims=dims,
                                     kernel_size=patch_sizes[i], stride=strides[i],
                                     padding=paddings[i], bias=True, norm_cfg=norm_cfg)
            blocks = nn.ModuleList()
            if use_abs_pos_embed:
                reduction = math.prod(patch_sizes[:i + 1])
                blocks.append(AbsolutePositionEmbedding(
                    (img_size[0] // reduction, img_size[1] // reduction), dims,
                    drop_rate=drop_rate))
            blocks.extend(PVTEncoderLayer(
                dims, num_heads[i], mlp_ratios[i] * dims, drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate, drop_path_rate=rates[done + j],
                qkv_bias=qkv_bias, act_cfg=act_cfg, norm_cfg=norm_cfg, sr_ratio=sr_ratios[i],
                use_conv_ffn=use_conv_ffn) for j in range(num_layer))
            norm = build_norm_layer(norm_cfg, dims)[1] if norm_after_stage else nn.Identity()
            self.layers.append(nn.ModuleList([patch_embed, blocks, norm]))
            channels, done = dims, done + num_layer

    def init_weights(self) -> None:
        """Truncated-normal linears, fan-out normal convs, or load ``init_cfg``'s checkpoint."""
        cfg = self.init_cfg
        if cfg is None:
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    trunc_normal_(m.weight, std=0.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, nn.LayerNorm):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Conv2d):
                    fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                    nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, AbsolutePositionEmbedding):
                    m.init_weights()
                elif isinstance(m, nn.MultiheadAttention):
                    trunc_normal_(m.in_proj_weight, std=0.02)
                    nn.init.zeros_(m.in_proj_bias)
        else:
            if not isinstance(cfg, dict) or 'checkpoint' not in cfg:
                raise KeyError(f'{type(self).__name__} init_cfg must be None or '
                               f"dict(type='Pretrained', checkpoint=...), got {cfg!r}")
            self.load_pretrained(cfg['checkpoint'], prefix=cfg.get('prefix'))
        self._is_init = True

    def load_pretrained(self, checkpoint: str, prefix: Optional[str] = None) -> None:
        """Load an original PVT release (``convert_weights``) or, with ``convert_weights=False``
        (and ``prefix='backbone.'`` for a detector), an mmdetection-named state dict.

        Every key of this model must be in the file with the same shape, else the error names
        them.
        """
        path = resolve_checkpoint_path(checkpoint)
        state = unwrap_state_dict(load_checkpoint_safely(path), path)
        if self.convert_weights:
            state = pvt_convert(state)
        if prefix:
            state = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                                if k.startswith(prefix))
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        if missing:
            raise KeyError(f'{path!r} lacks {len(missing)} {type(self).__name__} keys, e.g. '
                           f'{missing[:5]}; an original PVT release needs convert_weights=True, '
                           "an mmdetection checkpoint convert_weights=False (and prefix="
                           "'backbone.' for a detector's)")
        wrong = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in own.items()
                 if state[k].shape != v.shape]
        if wrong:
            raise ValueError(f'{path!r} has shapes that do not fit this {type(self).__name__} '
                             f'(key, checkpoint shape, model shape): {wrong[:5]}')
        self.load_state_dict(OrderedDict((k, state[k]) for k in own), strict=True)

    def forward(self, x: Tensor) -> List[Tensor]:
        """(N, in_channels, H, W) → one (N, C_i, H_i, W_i) map per ``out_indices`` entry."""
        outs = []
        for i, (patch_embed, blocks, norm) in enumerate(self.layers):
            x, hw_shape = patch_embed(x)
            for block in blocks:
                x = block(x, hw_shape)
            x = nlc_to_nchw(norm(x), hw_shape)
            if i in self.out_indices:
                outs.append(x)
        return outs


@BACKBONES.register_module()
class PyramidVisionTransformerV2(PyramidVisionTransformer):
    """PVTv2: PVT with overlapping patch embedding (7x7 then 3x3 convs), no position embedding,
    a depth-wise conv in the MLP and a norm after each stage. Arguments as
    :class:`PyramidVisionTransformer` minus those five, which v2 fixes."""

    def __init__(self, **kwargs):
        fixed = ('patch_sizes', 'paddings', 'use_abs_pos_embed', 'norm_after_stage',
                 'use_conv_ffn')
        given = sorted(set(fixed) & set(kwargs))
        if given:
            raise TypeError(f'PyramidVisionTransformerV2 fixes {given}; remove them from the '
                            'config')
        super().__init__(patch_sizes=(7, 3, 3, 3), paddings=(3, 1, 1, 1),
                         use_abs_pos_embed=False, norm_after_stage=True, use_conv_ffn=True,
                         **kwargs)
