"""KnowledgeDistillationSingleStageDetector (LD) and LAD: the teacher stays outside the student's
state dict, parameters and training mode, and the student's losses (which need the teacher's
outputs) fall on two synthetic images. The tiny configs are the parity fixtures' ld.py / lad.py."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_lite.models import build_detector

from .. import mmdet2_detector_parity as P
from .test_retinanet_learning import BOXES, LABELS, _images, _metas

LOSS_KEYS = dict(ld={'loss_cls', 'loss_bbox', 'loss_dfl', 'loss_ld'},
                 lad={'loss_cls', 'loss_bbox', 'loss_iou'})


def _total(losses):
    return sum(sum(v) if isinstance(v, (list, tuple)) else v
               for k, v in losses.items() if 'loss' in k)


@pytest.mark.parametrize('case', ['ld', 'lad'])
def test_teacher_is_hidden_and_student_learns(case, one_thread):
    cfg = Config.fromfile(P.config_path(case)).model
    torch.manual_seed(0)
    model = build_detector(cfg)
    model.init_weights()
    teacher = model.teacher_model
    assert not any(k.startswith('teacher') for k in model.state_dict())
    teacher_params = {id(p) for p in teacher.parameters()}
    assert teacher_params and not teacher_params & {id(p) for p in model.parameters()}
    model.train()
    assert model.training and not teacher.training
    assert model.to('cpu') is model

    imgs = _images()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for step in range(30):
        losses = model.forward_train(imgs, _metas(), BOXES, LABELS)
        if step == 0:
            assert set(losses) == LOSS_KEYS[case]
        loss = _total(losses)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    assert all(p.grad is None for p in teacher.parameters())
    assert np.isfinite(history).all()
    assert np.mean(history[-5:]) < 0.7 * history[0], (history[0], history[-5:])


def test_missing_teacher_config_names_the_file():
    cfg = Config.fromfile(P.config_path('ld')).model
    cfg.teacher_config = 'configs/gfl/no_such_teacher.py'
    with pytest.raises(FileNotFoundError, match='no_such_teacher.py'):
        build_detector(cfg)
