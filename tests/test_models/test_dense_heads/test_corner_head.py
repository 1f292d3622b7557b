"""CornerHead and corner pooling: directions by hand, worked targets, decoding of one pair,
empty ground truth."""
import pytest
import torch

from mmdet_lite.models import build_head
from mmdet_lite.models.layers.corner_pool import CornerPool

from ._helpers import make_metas

pytestmark = pytest.mark.usefixtures('one_thread')


def _head(**test_cfg):
    cfg = dict(corner_topk=32, local_maximum_kernel=3, distance_threshold=0.5, score_thr=0.05,
               max_per_img=10, nms=dict(type='nms', iou_threshold=0.5))
    cfg.update(test_cfg)
    torch.manual_seed(0)
    head = build_head(dict(type='CornerHead', num_classes=2, in_channels=4, num_feat_levels=2,
                           test_cfg=cfg))
    head.init_weights()
    return head


def test_corner_pool_directions():
    x = torch.tensor([[[[1., 3., 2.], [0., 1., 5.]]]])
    assert CornerPool('top')(x).tolist() == [[[[1., 3., 5.], [0., 1., 5.]]]]
    assert CornerPool('bottom')(x).tolist() == [[[[1., 3., 2.], [1., 3., 5.]]]]
    assert CornerPool('left')(x).tolist() == [[[[3., 3., 2.], [5., 5., 5.]]]]
    assert CornerPool('right')(x).tolist() == [[[[1., 3., 3.], [0., 1., 5.]]]]
    with pytest.raises(ValueError, match='mode'):
        CornerPool('up')


def test_layers_and_forward_shapes():
    head = _head()
    keys = set(head.state_dict())
    assert {'tl_pool.0.direction1_conv.conv.weight', 'br_pool.1.aftpool_conv.bn.weight',
            'tl_heat.0.1.conv.bias', 'br_emb.1.0.conv.weight', 'tl_off.1.1.conv.weight'} <= keys
    outs = head([torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)])
    assert [tuple(o[0].shape) for o in outs] == [(1, 2, 8, 8), (1, 2, 8, 8), (1, 1, 8, 8),
                                                 (1, 1, 8, 8), (1, 2, 8, 8), (1, 2, 8, 8)]
    with pytest.raises(ValueError, match='init_cfg'):
        build_head(dict(type='CornerHead', num_classes=2, in_channels=4,
                        init_cfg=dict(type='Normal')))


def test_targets_of_one_box():
    # 32 x 32 input, 8 x 8 output: box [4, 6, 22, 18] -> corners (1.0, 1.5) and (5.5, 4.5)
    head = _head()
    t = head.get_targets([torch.tensor([[4., 6., 22., 18.]])], [torch.tensor([1])],
                         (1, 2, 8, 8), (32, 32, 3), with_corner_emb=True)
    assert t.topleft_heatmap[0, 1, 1, 1] == 1 and t.bottomright_heatmap[0, 1, 4, 5] == 1
    assert t.topleft_heatmap[0, 0].abs().max() == 0
    assert t.topleft_offset[0, :, 1, 1].tolist() == [0., 0.5]
    assert t.bottomright_offset[0, :, 4, 5].tolist() == [0.5, 0.5]
    assert t.corner_embedding == [[[[1, 1], [4, 5]]]]


def test_empty_gt_gives_heatmap_loss_only():
    head = _head()
    outs = head([torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)])
    losses = head.loss(*outs, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)],
                       make_metas(img_shape=(32, 32)))
    assert all(v.item() > 0 for v in losses['det_loss'])
    for key in ('off_loss', 'pull_loss', 'push_loss'):
        assert all(v.item() == 0 for v in losses[key]), key


def test_one_gt_gives_losses_and_gradients():
    head = _head()
    outs = head([torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)])
    losses = head.loss(*outs, [torch.tensor([[4., 6., 22., 18.]])], [torch.tensor([1])],
                       make_metas(img_shape=(32, 32)))
    assert all(v.item() > 0 for v in losses['det_loss'] + losses['off_loss'])
    sum(sum(v) for v in losses.values()).backward()
    assert head.tl_heat[1][1].conv.weight.grad is not None


def _one_pair_outputs(br_class=1, br_emb=0.2):
    """8 x 8 outputs of a 32 x 32 input: a class-1 top-left corner at (1, 1) with offset
    (0.5, 0) and a bottom-right corner of ``br_class`` at (5, 4); embeddings 0 and ``br_emb``."""
    tl_heat = torch.full((1, 2, 8, 8), -6.)
    br_heat = torch.full((1, 2, 8, 8), -6.)
    tl_heat[0, 1, 1, 1] = 2.
    br_heat[0, br_class, 4, 5] = 1.
    tl_emb = torch.zeros(1, 1, 8, 8)
    br_emb_map = torch.full((1, 1, 8, 8), 5.)
    br_emb_map[0, 0, 4, 5] = br_emb
    tl_off = torch.zeros(1, 2, 8, 8)
    tl_off[0, 0, 1, 1] = 0.5
    br_off = torch.zeros(1, 2, 8, 8)
    return ([tl_heat], [br_heat], [tl_emb], [br_emb_map], [tl_off], [br_off])


def test_decoding_pairs_corners_of_one_class_and_close_embeddings():
    head = _head()
    (dets, labels), = head.get_bboxes(*_one_pair_outputs(), img_metas=make_metas(
        img_shape=(32, 32)))
    # (1.5, 1) and (5, 4) output pixels x 4; score the mean of the two sigmoids
    score = (torch.sigmoid(torch.tensor(2.)) + torch.sigmoid(torch.tensor(1.))) / 2
    torch.testing.assert_close(dets[0], torch.cat([torch.tensor([6., 4., 20., 16.]),
                                                   score[None]]))
    assert labels[0] == 1
    for outputs in (_one_pair_outputs(br_class=0), _one_pair_outputs(br_emb=0.9)):
        (dets, _), = head.get_bboxes(*outputs, img_metas=make_metas(img_shape=(32, 32)))
        assert not (dets[:, 4] > 0.5).any()


def test_too_few_corners_is_an_error():
    head = _head(corner_topk=4)
    with pytest.raises(ValueError, match='corner_topk'):
        head.get_bboxes(*_one_pair_outputs(), img_metas=make_metas(img_shape=(32, 32)))


def _centripetal_head():
    torch.manual_seed(0)
    head = build_head(dict(type='CentripetalHead', num_classes=2, in_channels=4,
                           num_feat_levels=1, corner_emb_channels=0,
                           test_cfg=dict(corner_topk=32, local_maximum_kernel=3,
                                         distance_threshold=0.5, score_thr=0.05,
                                         max_per_img=10,
                                         nms=dict(type='nms', iou_threshold=0.5))))
    head.init_weights()
    return head


def test_centripetal_targets_of_one_box():
    # box [4, 6, 22, 18] on an 8 x 8 map of a 32 x 32 input: centre (3.25, 3.0), corners
    # (1.0, 1.5) in cell (1, 1) and (5.5, 4.5) in cell (5, 4)
    head = _centripetal_head()
    t = head.get_targets([torch.tensor([[4., 6., 22., 18.]])], [torch.tensor([0])],
                         (1, 2, 8, 8), (32, 32, 3), with_guiding_shift=True,
                         with_centripetal_shift=True)
    torch.testing.assert_close(t.topleft_guiding_shift[0, :, 1, 1], torch.tensor([2.25, 2.]))
    torch.testing.assert_close(t.bottomright_guiding_shift[0, :, 4, 5], torch.tensor([1.75, 1.]))
    torch.testing.assert_close(t.topleft_centripetal_shift[0, :, 1, 1],
                               torch.tensor([2.25, 1.5]).log())
    torch.testing.assert_close(t.bottomright_centripetal_shift[0, :, 4, 5],
                               torch.tensor([2.25, 1.5]).log())


def test_centripetal_losses_with_and_without_gt():
    head = _centripetal_head()
    outs = head([torch.randn(1, 4, 8, 8)])
    assert len(outs) == 8
    losses = head.loss(*outs, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)],
                       make_metas(img_shape=(32, 32)))
    assert losses['det_loss'][0].item() > 0
    for key in ('off_loss', 'guiding_loss', 'centripetal_loss'):
        assert losses[key][0].item() == 0, key
    losses = head.loss(*outs, [torch.tensor([[4., 6., 22., 18.]])], [torch.tensor([1])],
                       make_metas(img_shape=(32, 32)))
    assert all(v[0].item() > 0 for v in losses.values())
    sum(v[0] for v in losses.values()).backward()
    assert head.tl_feat_adaption[0].weight.grad is not None
    (dets, labels), = head.get_bboxes(*outs, img_metas=make_metas(img_shape=(32, 32)))
    assert dets.shape[1] == 5 and len(dets) == len(labels)
