"""GridHead: Grid R-CNN's box localisation by grid points (Lu et al., arXiv:1811.12030 and
Grid R-CNN Plus, arXiv:1906.05688).

For each RoI, a heatmap per grid point (3x3 points at the box's corners, edge midpoints and
centre) predicts where that point of the object's box lies in the RoI enlarged twice; each
point's features are fused with its neighbours' (first- and second-order transitions). The box
edges are score-weighted averages of the points on them. Each point only sees its own
quadrant-sized sub-region of the whole heatmap (Grid R-CNN Plus).

Shapes: ``R`` RoIs, ``G`` grid points (``S x S``), ``c`` = ``point_feat_channels``,
``F`` = ``roi_feat_size`` (14), ``M`` = 4F the whole heatmap, ``M / 2`` a point's sub-region.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...builder import HEADS, build_loss

_DEFAULT_INIT = [
    dict(type='Kaiming', layer=['Conv2d', 'Linear']),
    dict(type='Normal', layer='ConvTranspose2d', std=0.001,
         override=dict(type='Normal', name='deconv2', std=0.001, bias=-np.log(0.99 / 0.01))),
]


def _transition(channels: int) -> nn.Sequential:
    """A point-to-point feature transition: depthwise 5x5 then pointwise conv."""
    return nn.Sequential(nn.Conv2d(channels, channels, 5, stride=1, padding=2, groups=channels),
                         nn.Conv2d(channels, channels, 1))


@HEADS.register_module()
class GridHead(BaseModule):
    """Grid point heatmaps with feature fusion between neighbouring points.

    Args:
        grid_points: ``G``, a square number >= 4.
        num_convs: convs on the RoI features (the first with stride 2), ``G * c`` channels.
        roi_feat_size: side ``F`` of the (square) RoI features.
        in_channels: channels of the RoI features.
        conv_kernel_size: kernel of the convs.
        point_feat_channels: ``c``, the channels of one point's features.
        deconv_kernel_size: kernel of the two grouped x2 deconvs.
        class_agnostic: 2.x's argument, unused (the heatmaps are class agnostic).
        loss_grid: per-pixel loss of the heatmaps (sigmoid cross-entropy, weight 15).
        conv_cfg / norm_cfg: of the convs (GN with ``num_groups`` dividing ``G * c``).
    """

    def __init__(self,
                 grid_points: int = 9,
                 num_convs: int = 8,
                 roi_feat_size: int = 14,
                 in_channels: int = 256,
                 conv_kernel_size: int = 3,
                 point_feat_channels: int = 64,
                 deconv_kernel_size: int = 4,
                 class_agnostic: bool = False,
                 loss_grid: dict = dict(type='CrossEntropyLoss', use_sigmoid=True,
                                        loss_weight=15),
                 conv_cfg=None,
                 norm_cfg=dict(type='GN', num_groups=36),
                 init_cfg=_DEFAULT_INIT):
        super().__init__(init_cfg)
        self.grid_points = grid_points
        self.num_convs = num_convs
        self.roi_feat_size = roi_feat_size
        self.in_channels = in_channels
        self.conv_kernel_size = conv_kernel_size
        self.point_feat_channels = point_feat_channels
        self.conv_out_channels = point_feat_channels * grid_points
        self.class_agnostic = class_agnostic
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        if (isinstance(norm_cfg, dict) and norm_cfg['type'] == 'GN'
                and self.conv_out_channels % norm_cfg['num_groups']):
            raise ValueError(f'GridHead: GN num_groups={norm_cfg["num_groups"]} must divide '
                             f'grid_points * point_feat_channels = {self.conv_out_channels}')
        self.grid_size = int(np.sqrt(grid_points))
        if grid_points < 4 or self.grid_size**2 != grid_points:
            raise ValueError(f'GridHead grid_points={grid_points} must be a square number >= 4')
        if not isinstance(roi_feat_size, int):
            raise ValueError(f'GridHead needs square RoI features: roi_feat_size must be an int, '
                             f'got {roi_feat_size!r}')
        self.whole_map_size = roi_feat_size * 4
        self.sub_regions = self.calc_sub_regions()

        padding = (conv_kernel_size - 1) // 2
        self.convs = nn.Sequential(*[
            ConvModule(in_channels if i == 0 else self.conv_out_channels, self.conv_out_channels,
                       conv_kernel_size, stride=2 if i == 0 else 1, padding=padding,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg, bias=True)
            for i in range(num_convs)])
        deconv_padding = (deconv_kernel_size - 2) // 2
        self.deconv1 = nn.ConvTranspose2d(self.conv_out_channels, self.conv_out_channels,
                                          kernel_size=deconv_kernel_size, stride=2,
                                          padding=deconv_padding, groups=grid_points)
        self.norm1 = nn.GroupNorm(grid_points, self.conv_out_channels)
        self.deconv2 = nn.ConvTranspose2d(self.conv_out_channels, grid_points,
                                          kernel_size=deconv_kernel_size, stride=2,
                                          padding=deconv_padding, groups=grid_points)

        # Point i = (column i // S, row i % S); its neighbours left, up, down, right.
        size = self.grid_size
        self.neighbor_points: List[Tuple[int, ...]] = []
        for col in range(size):
            for row in range(size):
                neighbors = []
                if col > 0:
                    neighbors.append((col - 1) * size + row)
                if row > 0:
                    neighbors.append(col * size + row - 1)
                if row < size - 1:
                    neighbors.append(col * size + row + 1)
                if col < size - 1:
                    neighbors.append((col + 1) * size + row)
                self.neighbor_points.append(tuple(neighbors))
        self.num_edges = sum(len(p) for p in self.neighbor_points)
        self.forder_trans = nn.ModuleList([
            nn.ModuleList([_transition(point_feat_channels) for _ in neighbors])
            for neighbors in self.neighbor_points])
        self.sorder_trans = nn.ModuleList([
            nn.ModuleList([_transition(point_feat_channels) for _ in neighbors])
            for neighbors in self.neighbor_points])
        self.loss_grid = build_loss(loss_grid)

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        """RoI features (R, in_channels, F, F) → heatmaps (R, G, 2F, 2F) ``fused`` (with the
        neighbours' features) and ``unfused`` (training only; the fused ones at test time)."""
        if x.shape[-2:] != (self.roi_feat_size, self.roi_feat_size):
            raise ValueError(f'GridHead takes {self.roi_feat_size}x{self.roi_feat_size} RoI '
                             f'features, got {tuple(x.shape[-2:])}')
        x = self.convs(x)
        c = self.point_feat_channels
        own = [x[:, i * c:(i + 1) * c] for i in range(self.grid_points)]
        first, second = list(own), list(own)
        for i, points in enumerate(self.neighbor_points):
            for j, point in enumerate(points):
                first[i] = first[i] + self.forder_trans[i][j](own[point])
        for i, points in enumerate(self.neighbor_points):
            for j, point in enumerate(points):
                second[i] = second[i] + self.sorder_trans[i][j](first[point])
        heatmap = self._heatmap(torch.cat(second, dim=1))
        unfused = self._heatmap(x) if self.training else heatmap
        return dict(fused=heatmap, unfused=unfused)

    def _heatmap(self, x: Tensor) -> Tensor:
        x = F.relu(self.norm1(self.deconv1(x)), inplace=True)
        return self.deconv2(x)

    def calc_sub_regions(self) -> List[Tuple[int, int, int, int]]:
        """Per point, its sub-region ``(x1, y1, x2, y2)`` (side M / 2) of the whole M x M map:
        first column/row at 0, last at M / 2, the others around their position."""
        half_size = self.whole_map_size // 4 * 2

        def start(idx: int) -> int:
            if idx == 0:
                return 0
            if idx == self.grid_size - 1:
                return half_size
            ratio = idx / (self.grid_size - 1) - 0.25
            return max(int(ratio * self.whole_map_size), 0)

        regions = []
        for i in range(self.grid_points):
            x1, y1 = start(i // self.grid_size), start(i % self.grid_size)
            regions.append((x1, y1, x1 + half_size, y1 + half_size))
        return regions

    def get_targets(self, sampling_results: Sequence, rcnn_train_cfg) -> Tensor:
        """Heatmap targets (P, G, M / 2, M / 2) of the positive RoIs of every image.

        Each GT grid point is marked, with a disk of ``rcnn_train_cfg.pos_radius`` pixels, on
        the whole M x M map of its RoI enlarged twice (position truncated towards zero, as
        2.x); each point keeps its sub-region. RoIs whose enlarged box is at most ``S`` px wide
        or high get no target.
        """
        device = sampling_results[0].pos_bboxes.device
        boxes = torch.cat([res.pos_bboxes for res in sampling_results]).cpu()
        gt_boxes = torch.cat([res.pos_gt_bboxes for res in sampling_results]).cpu()
        if boxes.shape != gt_boxes.shape:
            raise ValueError(f'{len(boxes)} positive RoIs but {len(gt_boxes)} GT boxes')
        half_w = (boxes[:, 2] - boxes[:, 0]) / 2
        half_h = (boxes[:, 3] - boxes[:, 1]) / 2
        boxes = torch.stack([boxes[:, 0] - half_w, boxes[:, 1] - half_h,
                             boxes[:, 2] + half_w, boxes[:, 3] + half_h], dim=-1)
        widths = (boxes[:, 2] - boxes[:, 0])[:, None]
        heights = (boxes[:, 3] - boxes[:, 1])[:, None]
        size, map_size = self.grid_size, self.whole_map_size
        # Weights of (x1, x2) and (y1, y2) of each point, from Python floats as 2.x.
        fx = [1 - (j // size) / (size - 1) for j in range(self.grid_points)]
        fy = [1 - (j % size) / (size - 1) for j in range(self.grid_points)]
        point_x = (gt_boxes[:, None, 0] * torch.tensor(fx)
                   + gt_boxes[:, None, 2] * torch.tensor([1 - f for f in fx]))
        point_y = (gt_boxes[:, None, 1] * torch.tensor(fy)
                   + gt_boxes[:, None, 3] * torch.tensor([1 - f for f in fy]))
        cx = torch.trunc((point_x - boxes[:, None, 0]) / widths * map_size).long()  # (P, G)
        cy = torch.trunc((point_y - boxes[:, None, 1]) / heights * map_size).long()

        radius = rcnn_train_cfg['pos_radius']
        offsets = [(dx, dy) for dx in range(-radius, radius + 1)
                   for dy in range(-radius, radius + 1) if dx * dx + dy * dy <= radius * radius]
        dx, dy = (torch.tensor(d) for d in zip(*offsets))
        xs, ys = cx[..., None] + dx, cy[..., None] + dy                 # (P, G, D)
        valid = (xs >= 0) & (xs < map_size) & (ys >= 0) & (ys < map_size)
        valid &= ((widths > size) & (heights > size))[..., None]
        roi_idx, point_idx, _ = torch.nonzero(valid, as_tuple=True)
        targets = torch.zeros(len(boxes), self.grid_points, map_size, map_size)
        targets[roi_idx, point_idx, ys[valid], xs[valid]] = 1
        sub_targets = [targets[:, [i], y1:y2, x1:x2]
                       for i, (x1, y1, x2, y2) in enumerate(self.sub_regions)]
        return torch.cat(sub_targets, dim=1).to(device)

    def loss(self, grid_pred: Dict[str, Tensor], grid_targets: Tensor) -> Dict[str, Tensor]:
        """``loss_grid``: the heatmap loss of the fused plus the unfused heatmaps."""
        return dict(loss_grid=self.loss_grid(grid_pred['fused'], grid_targets)
                    + self.loss_grid(grid_pred['unfused'], grid_targets))

    def get_bboxes(self, det_bboxes: Tensor, grid_pred: Tensor, img_metas: List[dict]) -> Tensor:
        """Of one image: boxes (n, 5) refined by the heatmaps (n, G, M / 2, M / 2) of its
        detections ``det_bboxes`` (n, 5) (scores kept), computed on the CPU as 2.x.
        ``img_metas`` is 2.x's argument (see the note on clipping below)."""
        if det_bboxes.shape[0] != grid_pred.shape[0]:
            raise ValueError(f'{det_bboxes.shape[0]} boxes but {grid_pred.shape[0]} heatmaps')
        det_bboxes = det_bboxes.cpu()
        cls_scores = det_bboxes[:, [4]]
        det_bboxes = det_bboxes[:, :4]
        grid_pred = grid_pred.sigmoid().cpu()
        num, points, h, w = grid_pred.shape
        if h != w or h != self.whole_map_size // 4 * 2 or points != self.grid_points:
            raise ValueError(f'GridHead.get_bboxes got heatmaps {tuple(grid_pred.shape[1:])}')
        pred_scores, pred_position = grid_pred.view(num * points, h * w).max(dim=1)
        xs = pred_position % w
        ys = pred_position // w
        for i in range(points):
            xs[i::points] += self.sub_regions[i][0]
            ys[i::points] += self.sub_regions[i][1]
        pred_scores, xs, ys = (t.view(num, points) for t in (pred_scores, xs, ys))

        widths = (det_bboxes[:, 2] - det_bboxes[:, 0]).unsqueeze(-1)
        heights = (det_bboxes[:, 3] - det_bboxes[:, 1]).unsqueeze(-1)
        x1 = det_bboxes[:, 0, None] - widths / 2
        y1 = det_bboxes[:, 1, None] - heights / 2
        abs_xs = (xs.float() + 0.5) / w * widths + x1
        abs_ys = (ys.float() + 0.5) / h * heights + y1

        size = self.grid_size
        x1_inds = list(range(size))                                # first column
        y1_inds = [i * size for i in range(size)]                  # first row
        x2_inds = [points - size + i for i in range(size)]         # last column
        y2_inds = [(i + 1) * size - 1 for i in range(size)]        # last row

        def edge(coords: Tensor, inds: List[int]) -> Tensor:
            weights = pred_scores[:, inds]
            return (coords[:, inds] * weights).sum(dim=1, keepdim=True) / weights.sum(
                dim=1, keepdim=True)

        # 2.x meant to clip the boxes to img_shape but clipped a copy (an advanced-indexing
        # result), so its boxes may leave the image; they are kept unclipped so that a 2.x
        # checkpoint gives 2.x's detections.
        return torch.cat([edge(abs_xs, x1_inds), edge(abs_ys, y1_inds), edge(abs_xs, x2_inds),
                          edge(abs_ys, y2_inds), cls_scores], dim=1)
