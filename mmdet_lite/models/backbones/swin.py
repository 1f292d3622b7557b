"""Swin Transformer (Liu et al., 2021): window attention with shifted windows, 4 stages.

Shapes: input (N, in_channels, H, W); stage ``i`` works on tokens (N, H_i * W_i, C_i) with
C_i = embed_dims * 2**i and H_i = ceil(H / patch_size / 2**i) (maps are padded, not cropped, to
whole windows and patches); output, per ``out_indices`` entry, (N, C_i, H_i, W_i). Names as
mmdetection 2.x (``patch_embed.projection``, ``stages.0.blocks.0.attn.w_msa.qkv``,
``stages.0.downsample.reduction``, ``norm0``...), so its checkpoints load strictly; the original
Swin release (``convert_weights=True``) loads through :func:`swin_converter`.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor, nn

from ...checkpoint import load_checkpoint_safely, resolve_checkpoint_path, unwrap_state_dict
from ..builder import BACKBONES
from ..layers import build_norm_layer
from ..layers.transformer import FFN, PatchEmbed, PatchMerging, build_dropout
from ..utils.pretrained import init_cfg_with_pretrained
from ...core.utils.errors import ConfigValueError

_Size = Tuple[int, int]


def _pair(x: Union[int, Sequence[int]]) -> _Size:
    return (x, x) if isinstance(x, int) else (int(x[0]), int(x[-1]))


class WindowMSA(nn.Module):
    """Multi-head self-attention inside one window, with a learned relative position bias.

    Tokens (B, Wh * Ww, C) → (B, Wh * Ww, C), ``B`` = images x windows. ``mask`` (nW, Wh * Ww,
    Wh * Ww), 0 or -100, keeps the tokens of a shifted window from attending across the borders
    of the regions that the shift brought together.
    """

    def __init__(self, embed_dims: int, num_heads: int, window_size: _Size,
                 qkv_bias: bool = True, qk_scale: Optional[float] = None,
                 attn_drop_rate: float = 0., proj_drop_rate: float = 0.):
        super().__init__()
        self.embed_dims = embed_dims
        self.window_size = window_size
        self.num_heads = num_heads
        self.scale = qk_scale or (embed_dims // num_heads)**-0.5
        wh, ww = window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        # index[a, b]: the table row of the offset from key b to query a, offsets shifted to >= 0
        rows = torch.arange(wh).repeat_interleave(ww)
        cols = torch.arange(ww).repeat(wh)
        d_row = rows[:, None] - rows[None, :] + wh - 1
        d_col = cols[:, None] - cols[None, :] + ww - 1
        self.register_buffer('relative_position_index', d_row * (2 * ww - 1) + d_col)
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)
        self.softmax = nn.Softmax(dim=-1)

    def init_weights(self) -> None:
        trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        attn = attn + bias.view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(b // nw, nw, self.num_heads, n, n) + mask[None, :, None]
            attn = attn.view(-1, self.num_heads, n, n)
        attn = self.attn_drop(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(x))


class ShiftWindowMSA(nn.Module):
    """Window attention over a map, windows cyclically shifted by ``shift_size`` (0: none).

    Tokens (N, H * W, C) → (N, H * W, C); the map is zero-padded at the bottom/right to whole
    windows and cropped back.
    """

    def __init__(self, embed_dims: int, num_heads: int, window_size: int, shift_size: int = 0,
                 qkv_bias: bool = True, qk_scale: Optional[float] = None,
                 attn_drop_rate: float = 0., proj_drop_rate: float = 0.,
                 dropout_layer: Optional[dict] = None):
        super().__init__()
        if not 0 <= shift_size < window_size:
            raise ValueError(f'shift_size={shift_size} must be in [0, window_size={window_size})')
        self.window_size = window_size
        self.shift_size = shift_size
        self.w_msa = WindowMSA(embed_dims, num_heads, _pair(window_size), qkv_bias=qkv_bias,
                               qk_scale=qk_scale, attn_drop_rate=attn_drop_rate,
                               proj_drop_rate=proj_drop_rate)
        self.drop = build_dropout(dropout_layer or dict(type='DropPath', drop_prob=0.))

    def _windows(self, x: Tensor) -> Tensor:
        """(N, H, W, C) → (N * nW, ws * ws, C), windows in row-major order."""
        n, h, w, c = x.shape
        ws = self.window_size
        x = x.view(n, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, ws * ws, c)

    def _unwindows(self, windows: Tensor, h: int, w: int) -> Tensor:
        """(N * nW, ws * ws, C) → (N, H, W, C)."""
        ws = self.window_size
        c = windows.shape[-1]
        x = windows.view(-1, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, h, w, c)

    def _shift_mask(self, h: int, w: int, device: torch.device) -> Tensor:
        """(nW, ws * ws, ws * ws): -100 between tokens from different regions of the shifted map."""
        ws, s = self.window_size, self.shift_size
        region = torch.zeros((1, h, w, 1), device=device)
        bands = (slice(0, -ws), slice(-ws, -s), slice(-s, None))
        for i, hb in enumerate(bands):
            for j, wb in enumerate(bands):
                region[:, hb, wb, :] = i * 3 + j
        ids = self._windows(region).squeeze(-1)
        diff = ids.unsqueeze(1) - ids.unsqueeze(2)
        return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)

    def forward(self, query: Tensor, hw_shape: _Size) -> Tensor:
        n, length, c = query.shape
        h, w = hw_shape
        if length != h * w:
            raise ValueError(f'ShiftWindowMSA: {length} tokens do not form a {h}x{w} map')
        ws = self.window_size
        x = query.view(n, h, w, c)
        x = F.pad(x, (0, 0, 0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws))
        hp, wp = x.shape[1:3]
        mask = None
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
            mask = self._shift_mask(hp, wp, x.device)
        x = self._unwindows(self.w_msa(self._windows(x), mask=mask), hp, wp)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        x = x[:, :h, :w, :].reshape(n, h * w, c)
        return self.drop(x)


class SwinBlock(nn.Module):
    """norm1 → (shifted) window attention → +, norm2 → FFN (GELU MLP) → +."""

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int,
                 window_size: int = 7, shift: bool = False, qkv_bias: bool = True,
                 qk_scale: Optional[float] = None, drop_rate: float = 0.,
                 attn_drop_rate: float = 0., drop_path_rate: float = 0.,
                 act_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 with_cp: bool = False):
        super().__init__()
        norm_cfg = dict(type='LN') if norm_cfg is None else norm_cfg
        self.with_cp = with_cp
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ShiftWindowMSA(embed_dims, num_heads, window_size,
                                   shift_size=window_size // 2 if shift else 0,
                                   qkv_bias=qkv_bias, qk_scale=qk_scale,
                                   attn_drop_rate=attn_drop_rate, proj_drop_rate=drop_rate,
                                   dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate))
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(embed_dims=embed_dims, feedforward_channels=feedforward_channels,
                       num_fcs=2, ffn_drop=drop_rate,
                       dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate),
                       act_cfg=dict(type='GELU') if act_cfg is None else act_cfg,
                       add_identity=True)

    def _inner(self, x: Tensor, hw_shape: _Size) -> Tensor:
        x = x + self.attn(self.norm1(x), hw_shape)
        return self.ffn(self.norm2(x), identity=x)

    def forward(self, x: Tensor, hw_shape: _Size) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner, x, hw_shape, use_reentrant=False)
        return self._inner(x, hw_shape)


class SwinBlockSequence(nn.Module):
    """One stage: ``depth`` blocks (odd ones shifted), then an optional ``PatchMerging``.

    ``forward`` returns ``(next_x, next_hw, stage_out, stage_hw)``: the merged tokens for the
    next stage and this stage's own output.
    """

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int, depth: int,
                 window_size: int = 7, qkv_bias: bool = True, qk_scale: Optional[float] = None,
                 drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: Union[float, Sequence[float]] = 0.,
                 downsample: Optional[nn.Module] = None, act_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, with_cp: bool = False):
        super().__init__()
        rates = ([drop_path_rate] * depth if isinstance(drop_path_rate, (int, float))
                 else list(drop_path_rate))
        if len(rates) != depth:
            raise ValueError(f'{len(rates)} drop_path_rate values for a stage of depth {depth}')
        self.blocks = nn.ModuleList(
            SwinBlock(embed_dims, num_heads, feedforward_channels, window_size=window_size,
                      shift=i % 2 == 1, qkv_bias=qkv_bias, qk_scale=qk_scale,
                      drop_rate=drop_rate, attn_drop_rate=attn_drop_rate,
                      drop_path_rate=rates[i], act_cfg=act_cfg, norm_cfg=norm_cfg,
                      with_cp=with_cp) for i in range(depth))
        self.downsample = downsample

    def forward(self, x: Tensor, hw_shape: _Size) -> Tuple[Tensor, _Size, Tensor, _Size]:
        for block in self.blocks:
            x = block(x, hw_shape)
        if self.downsample is None:
            return x, hw_shape, x, hw_shape
        x_down, down_hw = self.downsample(x, hw_shape)
        return x_down, down_hw, x, hw_shape


def swin_converter(state_dict: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Keys of the original Swin release (github.com/microsoft/Swin-Transformer) → mmdetection
    2.x's, prefixed with ``backbone.``; the classifier (``head.*``) is dropped.

    Renames ``layers`` → ``stages``, ``attn.`` → ``attn.w_msa.``, ``mlp.fc1/fc2`` →
    ``ffn.layers.0.0/1``, ``patch_embed.proj`` → ``patch_embed.projection``. The original patch
    merging concatenates the 2x2 neighbours in the order (0,0), (1,0), (0,1), (1,1) and then
    channels; ``nn.Unfold`` orders channel-major, then (0,0), (0,1), (1,0), (1,1): the
    downsample norm and reduction weights are permuted accordingly.
    """
    def unfold_order(x: Tensor) -> Tensor:
        # (..., 4 * C) in original order → (..., C * 4) in unfold order
        lead = x.shape[:-1]
        x = x.reshape(*lead, 4, x.shape[-1] // 4)[..., [0, 2, 1, 3], :]
        return x.transpose(-1, -2).reshape(*lead, -1)

    converted = OrderedDict()
    for k, v in state_dict.items():
        if k.startswith('head'):
            continue
        new_k = k
        if k.startswith('layers'):
            if 'attn.' in k:
                new_k = k.replace('attn.', 'attn.w_msa.')
            elif 'mlp.fc1.' in k:
                new_k = k.replace('mlp.fc1.', 'ffn.layers.0.0.')
            elif 'mlp.fc2.' in k:
                new_k = k.replace('mlp.fc2.', 'ffn.layers.1.')
            elif 'mlp.' in k:
                new_k = k.replace('mlp.', 'ffn.')
            elif 'downsample' in k and ('reduction.' in k or 'norm.' in k):
                v = unfold_order(v)
            new_k = new_k.replace('layers', 'stages', 1)
        elif k.startswith('patch_embed') and 'proj' in k:
            new_k = k.replace('proj', 'projection')
        converted['backbone.' + new_k] = v
    return converted


@BACKBONES.register_module()
class SwinTransformer(BaseModule):
    """Swin Transformer, as mmdetection 2.x's.

    Args:
        pretrain_img_size: image size of pre-training (sets ``absolute_pos_embed``'s size).
        in_channels: input image channels.
        embed_dims: channels of stage 0 (doubled by every patch merging).
        patch_size: patch embedding kernel and stride (must equal ``strides[0]``).
        window_size: attention window side.
        mlp_ratio: FFN hidden width / embedding width.
        depths / num_heads: blocks and attention heads per stage.
        strides: patch embedding stride, then each patch merging's.
        out_indices: stages whose (normed) outputs ``forward`` returns.
        qkv_bias / qk_scale: attention projection bias / scale override (default head_dim**-0.5).
        patch_norm: LayerNorm in patch embedding and merging.
        drop_rate / attn_drop_rate / drop_path_rate: dropouts; stochastic depth grows linearly to
            ``drop_path_rate`` over all blocks.
        use_abs_pos_embed: add a learned absolute position embedding after patch embedding.
        act_cfg / norm_cfg: FFN activation and norm layers.
        with_cp: gradient checkpointing per block.
        pretrained: deprecated; same as ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        convert_weights: the pretrained file is an original Swin release (keys converted by
            :func:`swin_converter`).
        frozen_stages: freeze patch embedding and stages 1..frozen_stages (-1: none).
        init_cfg: ``dict(type='Pretrained', checkpoint=...)`` (a local file or a cached name,
            never downloaded) or ``None`` (truncated-normal init).
    """

    def __init__(self, pretrain_img_size: Union[int, Sequence[int]] = 224, in_channels: int = 3,
                 embed_dims: int = 96, patch_size: int = 4, window_size: int = 7,
                 mlp_ratio: float = 4, depths: Sequence[int] = (2, 2, 6, 2),
                 num_heads: Sequence[int] = (3, 6, 12, 24),
                 strides: Sequence[int] = (4, 2, 2, 2),
                 out_indices: Sequence[int] = (0, 1, 2, 3), qkv_bias: bool = True,
                 qk_scale: Optional[float] = None, patch_norm: bool = True,
                 drop_rate: float = 0., attn_drop_rate: float = 0., drop_path_rate: float = 0.1,
                 use_abs_pos_embed: bool = False, act_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, with_cp: bool = False,
                 pretrained: Optional[str] = None, convert_weights: bool = False,
                 frozen_stages: int = -1, init_cfg: Optional[dict] = None):
        init_cfg = init_cfg_with_pretrained('SwinTransformer', pretrained, init_cfg)
        super().__init__(init_cfg=init_cfg)
        if strides[0] != patch_size:
            raise ConfigValueError(f'SwinTransformer: strides[0]={strides[0]} must equal '
                                   f'patch_size={patch_size} (non-overlapping patch embedding)')
        if not len(depths) == len(num_heads) == len(strides):
            raise ValueError(f'SwinTransformer: depths {tuple(depths)}, num_heads '
                             f'{tuple(num_heads)} and strides {tuple(strides)} need one value '
                             'per stage')
        norm_cfg = dict(type='LN') if norm_cfg is None else norm_cfg
        act_cfg = dict(type='GELU') if act_cfg is None else act_cfg
        self.convert_weights = convert_weights
        self.frozen_stages = frozen_stages
        self.out_indices = tuple(out_indices)
        self.use_abs_pos_embed = use_abs_pos_embed
        num_layers = len(depths)

        self.patch_embed = PatchEmbed(in_channels=in_channels, embed_dims=embed_dims,
                                      conv_type='Conv2d', kernel_size=patch_size,
                                      stride=strides[0],
                                      norm_cfg=norm_cfg if patch_norm else None)
        if use_abs_pos_embed:
            size = _pair(pretrain_img_size)
            self.absolute_pos_embed = nn.Parameter(
                torch.zeros((1, embed_dims, size[0] // patch_size, size[1] // patch_size)))
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.stages = nn.ModuleList()
        channels = embed_dims
        for i in range(num_layers):
            downsample = None
            if i < num_layers - 1:
                downsample = PatchMerging(in_channels=channels, out_channels=2 * channels,
                                          stride=strides[i + 1],
                                          norm_cfg=norm_cfg if patch_norm else None)
            self.stages.append(SwinBlockSequence(
                channels, num_heads[i], int(mlp_ratio * channels), depths[i],
                window_size=window_size, qkv_bias=qkv_bias, qk_scale=qk_scale,
                drop_rate=drop_rate, attn_drop_rate=attn_drop_rate,
                drop_path_rate=rates[sum(depths[:i]):sum(depths[:i + 1])],
                downsample=downsample, act_cfg=act_cfg, norm_cfg=norm_cfg, with_cp=with_cp))
            if downsample is not None:
                channels = downsample.out_channels
        self.num_features = [int(embed_dims * 2**i) for i in range(num_layers)]
        for i in self.out_indices:
            self.add_module(f'norm{i}', build_norm_layer(norm_cfg, self.num_features[i])[1])

    def train(self, mode: bool = True) -> 'SwinTransformer':
        super().train(mode)
        self._freeze_stages()
        return self

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            self.patch_embed.eval()
            for param in self.patch_embed.parameters():
                param.requires_grad = False
            if self.use_abs_pos_embed:
                self.absolute_pos_embed.requires_grad = False
            self.drop_after_pos.eval()
        for i in range(1, self.frozen_stages + 1):
            frozen = [self.stages[i - 1]]
            if i - 1 in self.out_indices:
                frozen.append(getattr(self, f'norm{i - 1}'))
            for module in frozen:
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def init_weights(self) -> None:
        """Truncated-normal init of linears (std 0.02), or load ``init_cfg``'s checkpoint."""
        cfg = self.init_cfg
        if cfg is None:
            if self.use_abs_pos_embed:
                trunc_normal_(self.absolute_pos_embed, std=0.02)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    trunc_normal_(m.weight, std=0.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, nn.LayerNorm):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, WindowMSA):
                    m.init_weights()
        else:
            if not isinstance(cfg, dict) or 'checkpoint' not in cfg:
                raise KeyError(f"SwinTransformer init_cfg must be None or dict(type='Pretrained',"
                               f' checkpoint=...), got {cfg!r}')
            self.load_pretrained(cfg['checkpoint'], prefix=cfg.get('prefix'))
        self._is_init = True

    def load_pretrained(self, checkpoint: str, prefix: Optional[str] = None) -> None:
        """Load a Swin checkpoint: an original release (with ``convert_weights``), an mmdet
        detector (keys ``backbone.*``) or a bare backbone state dict.

        Relative position tables of another window size are resized (bicubic; their index
        buffers are this model's own) and a
        pre-training ``absolute_pos_embed`` of tokens is reshaped to a map. The per-stage output
        norms (``norm0``...) may be absent (classification releases have none); any other key
        of this model that the file lacks, or a shape that does not fit, raises.
        """
        path = resolve_checkpoint_path(checkpoint)
        loaded = unwrap_state_dict(load_checkpoint_safely(path), path)
        if self.convert_weights:
            loaded = swin_converter(loaded)
        prefix = prefix if prefix is not None else (
            'backbone.' if any(k.startswith('backbone.') for k in loaded) else '')
        state = OrderedDict((k[len(prefix):], v) for k, v in loaded.items()
                            if k.startswith(prefix))
        own = self.state_dict()
        if 'absolute_pos_embed' in state and 'absolute_pos_embed' in own:
            pos, want = state['absolute_pos_embed'], own['absolute_pos_embed']
            if pos.dim() == 3 and pos.shape[1] == want.shape[2] * want.shape[3]:
                state['absolute_pos_embed'] = pos.view(
                    1, want.shape[2], want.shape[3], -1).permute(0, 3, 1, 2).contiguous()
        for key in [k for k in state if k.endswith('relative_position_bias_table')]:
            if key in own and state[key].shape != own[key].shape \
                    and state[key].shape[1] == own[key].shape[1]:
                heads = own[key].shape[1]
                s1, s2 = int(state[key].shape[0]**0.5), int(own[key].shape[0]**0.5)
                table = state[key].permute(1, 0).reshape(1, heads, s1, s1)
                table = F.interpolate(table, size=(s2, s2), mode='bicubic')
                state[key] = table.view(heads, -1).permute(1, 0).contiguous()
        for key in [k for k in state if k.endswith('relative_position_index')]:
            if key in own and state[key].shape != own[key].shape:
                state[key] = own[key]  # derived from the window size, not learned
        missing = [k for k in own if k not in state and not k.startswith('norm')]
        if missing:
            raise KeyError(f'{path!r} lacks {len(missing)} SwinTransformer keys, e.g. '
                           f'{missing[:5]}; for an original Swin release set '
                           "convert_weights=True, for a detector checkpoint prefix='backbone.'")
        wrong = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in state.items()
                 if k in own and v.shape != own[k].shape]
        if wrong:
            raise ValueError(f'{path!r} has shapes that do not fit this SwinTransformer '
                             f'(key, checkpoint shape, model shape): {wrong[:5]}')
        self.load_state_dict(OrderedDict((k, v) for k, v in state.items() if k in own),
                             strict=False)

    def forward(self, x: Tensor) -> List[Tensor]:
        """(N, in_channels, H, W) → one (N, C_i, H_i, W_i) map per ``out_indices`` entry."""
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            pos = self.absolute_pos_embed
            if tuple(pos.shape[2:]) != tuple(hw_shape):
                pos = F.interpolate(pos, size=hw_shape, mode='bicubic', align_corners=False)
            x = x + pos.flatten(2).transpose(1, 2)
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape, out, out_hw = stage(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(out)
                outs.append(out.view(-1, *out_hw, self.num_features[i])
                            .permute(0, 3, 1, 2).contiguous())
        return outs
