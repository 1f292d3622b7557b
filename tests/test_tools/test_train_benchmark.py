"""benchmark.py --train times what it says: same batch for every tool, interleaved order, real
optimizer steps from the same starting weights."""
import torch

from mmdet_lite.analysis.train_benchmark import (IterationTimes, format_train_benchmark,
                                                 interleave, make_train_batch,
                                                 mmdet2_model_dict, run_train_benchmark,
                                                 torchvision_targets)
from mmdet_lite.apis.builder import load_config
from mmdet_lite.convert.torchvision_convert import default_class_ids

TV_CONFIG = 'configs/torchvision/mask_rcnn_r50_fpn_tv.py'


def test_interleave_rotates_the_order_and_drops_warmup():
    calls = []

    def runner(name):
        def run(seed):
            calls.append((name, seed))
            return IterationTimes(1.0, 2.0, 3.0, 6.0, float(seed))
        return run

    times = interleave({'a': runner('a'), 'b': runner('b'), 'c': runner('c')}, num_iters=3,
                       warmup=1, seed=10)
    assert calls == [('a', 10), ('b', 10), ('c', 10), ('b', 11), ('c', 11), ('a', 11),
                     ('c', 12), ('a', 12), ('b', 12), ('a', 13), ('b', 13), ('c', 13)]
    assert [t.loss for t in times['a']] == [11.0, 12.0, 13.0]
    assert times['b'][0].total_s == 6.0


def test_batch_is_seeded_and_torchvision_gets_the_same_targets():
    batch = make_train_batch(64, 96, batch_size=2, num_gts=3, seed=5)
    again = make_train_batch(64, 96, batch_size=2, num_gts=3, seed=5)
    assert torch.equal(batch.img, again.img)
    assert batch.img.shape == (2, 3, 64, 96)
    for boxes, masks in zip(batch.gt_bboxes, batch.gt_masks):
        assert boxes.shape == (3, 4) and masks.shape == (3, 64, 96)
        assert bool((boxes[:, 2:] > boxes[:, :2]).all())
        assert bool((boxes[:, 2:] <= torch.tensor([96., 64.])).all())
        # each mask lies inside its box and is not empty
        for box, mask in zip(boxes, masks):
            ys, xs = torch.nonzero(mask, as_tuple=True)
            assert len(ys) and xs.min() >= box[0] and xs.max() < box[2]
    class_ids = default_class_ids(91)
    targets = torchvision_targets(batch, class_ids, with_mask=True)
    for target, boxes, labels, masks in zip(targets, batch.gt_bboxes, batch.gt_labels,
                                            batch.gt_masks):
        assert target['boxes'] is boxes and target['masks'] is masks
        assert target['labels'].tolist() == [class_ids[i] for i in labels.tolist()]


def test_mmdet2_model_dict_drops_only_mmdet_lite_keys():
    model, dropped = mmdet2_model_dict(load_config(TV_CONFIG))
    assert sorted(dropped) == ['model.roi_head.mask_head.mask_paste',
                               'model.rpn_head.anchor_generator.round_base_anchors',
                               'model.rpn_head.anchor_generator.strides_from_input']
    assert model['roi_head']['mask_roi_extractor']['roi_layer']['sampling_ratio'] == 2
    assert model['train_cfg']['rcnn']['sampler']['num'] == 512


def test_tiny_run_steps_both_models_from_the_same_weights():
    # Few proposals and RoIs (the torchvision twin reads the same train_cfg): seconds, not minutes.
    cfg = load_config(TV_CONFIG)
    cfg.model.train_cfg.rpn.sampler.num = 32
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=64, max_per_img=32)
    cfg.model.train_cfg.rcnn.sampler.num = 16
    report = run_train_benchmark(cfg, shape=(64, 96), num_iters=1, warmup=0, num_gts=2,
                                 compare_torchvision=True, mmdet2_python=None, seed=0,
                                 compare_plain=True)
    assert [row['name'] for row in report['rows']] == ['mmdet_lite', 'mmdet_lite (plain)',
                                                       'torchvision']
    assert report['params_changed'] == {'mmdet_lite': True, 'mmdet_lite (plain)': True,
                                        'torchvision': True}
    # tools/train.py's speed-ups on CPU (the config sets none): frozen BN folded, NHWC; the
    # plain copy computes the same loss up to float32 rounding order
    assert report['training_speed']['folded_pairs'] > 0
    assert report['training_speed']['channels_last']
    fast, plain = report['rows'][0]['loss'], report['rows'][1]['loss']
    assert abs(fast - plain) <= 1e-5 * abs(plain)
    assert 'pairs fold while the BN is frozen' in format_train_benchmark(report)
    report['rows'].pop(1)
    for row in report['rows']:
        assert len(row['times']) == 1 and row['median_s'] > 0
        assert row['median_s'] == row['forward_s'] + row['backward_s'] + row['step_s']
        assert torch.isfinite(torch.tensor(row['loss']))
    # Same weights, same batch: the two losses only differ by the random sampling of anchors
    # and RoIs (the mask losses of random weights are both ~0.69, the rest small).
    mm, tv = (row['loss'] for row in report['rows'])
    assert abs(mm - tv) < 0.5 * max(mm, tv)
    assert 'mmdet_lite / tool' in format_train_benchmark(report)
