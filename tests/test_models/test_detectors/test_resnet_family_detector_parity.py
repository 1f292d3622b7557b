"""Detectors on the ResNet family's features give mmdetection 2.28's ``simple_test`` results on
the same seeded weights and input: ResNeXt with grouped DCN and ContextBlocks plus deformable RoI
pooling, RegNet with DCNv2 and GroupNorm everywhere, and TridentNet merging its three branches
(fixtures:
tests/data/mmdet2_detectors/, written by generate_resnet_family.py in the oracle venv).
Tolerances as the R-CNN family's: boxes within 0.01 px, scores within 1e-4, mask IoU >= 0.99."""
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector

from .. import mmdet2_detector_parity as P

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.mark.parametrize('case', ['faster_rcnn_x50_dconv_gcb_dpool',
                                  'mask_rcnn_regnet_mdconv_gn_all', 'trident_faster_rcnn'])
def test_simple_test_equals_mmdet2(case):
    fixture = P.load_fixture(case)
    model = build_detector(Config.fromfile(P.config_path(case)).model)
    P.check_weights(model, fixture['checksums'])
    model.eval()
    with torch.no_grad():
        result = model.simple_test(P.seeded_image(), [P.img_meta()], rescale=True)[0]
    figures = P.compare_results(result, fixture)
    assert figures['num_dets'] > 0, 'the fixture has no detection to compare'
    assert figures['box_diff'] <= 0.01, figures
    assert figures['score_diff'] <= 1e-4, figures
    assert figures['min_mask_iou'] >= 0.99, figures


def test_trident_faster_rcnn_trains_on_every_branch():
    """Training repeats each image's metas and ground truth per branch: the RPN and the box head
    see num_branch * N samples, and the losses back-propagate into the shared trident weights."""
    model = build_detector(Config.fromfile(P.config_path('trident_faster_rcnn')).model)
    model.init_weights()
    model.train()
    img = P.seeded_image()
    gt_bboxes = [torch.tensor([[10., 12., 60., 50.], [70., 20., 110., 80.]])]
    gt_labels = [torch.tensor([1, 3])]
    losses = model.forward_train(img, [P.img_meta()], gt_bboxes, gt_labels)
    total, _ = model.parse_losses(losses)
    total.backward()
    assert torch.isfinite(total)
    # (the residual branches start at zero: zero_init_residual) the shared shortcut conv learns
    assert model.backbone.layer3[0].downsample[0].weight.grad.abs().sum() > 0
    assert len(model.roi_head.bbox_head.fc_cls.weight.grad) == 6
    cfg = Config.fromfile(P.config_path('trident_faster_rcnn')).model
    cfg.backbone.test_branch_idx = cfg.roi_head.test_branch_idx = 1  # one branch at test time
    one_branch = build_detector(cfg)
    one_branch.load_state_dict(model.state_dict())
    one_branch.eval()
    with torch.no_grad():
        result = one_branch.simple_test(img, [P.img_meta()], rescale=True)[0]
    assert len(result) == 5 and all(r.shape[1] == 5 for r in result)
