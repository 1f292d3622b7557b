"""publish_model: training state dropped, meta kept, file named after its sha256."""
import hashlib
import os.path as osp
import re

import pytest
import torch

from mmdet_lite.convert.publish import publish_checkpoint

from .tool_loader import load_tool


def test_publish_synthetic_checkpoint(tmp_path):
    checkpoint = dict(
        state_dict={'w': torch.arange(4.0)},
        meta=dict(CLASSES=('a', 'b'), epoch=3),
        optimizer={'state': {}, 'param_groups': [{'lr': 0.1}]},
        param_schedulers=[{'last_epoch': 3}],
        message_hub={'log_scalars': {}})
    in_file = tmp_path / 'epoch_3.pth'
    torch.save(checkpoint, in_file)
    tool = load_tool('tools/model_converters/publish_model.py')
    final = tool.main([str(in_file), str(tmp_path / 'out' / 'model.pth')])
    match = re.fullmatch(r'model-([0-9a-f]{8})\.pth', osp.basename(final))
    assert match, final
    with open(final, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest()[:8] == match.group(1)
    published = torch.load(final, weights_only=True)
    assert set(published) == {'state_dict', 'meta'}
    assert published['meta'] == {'CLASSES': ('a', 'b'), 'epoch': 3}
    assert torch.equal(published['state_dict']['w'], torch.arange(4.0))
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [osp.basename(final)]


def test_publish_refuses_a_file_without_state_dict(tmp_path):
    torch.save({'meta': {}}, tmp_path / 'x.pth')
    with pytest.raises(KeyError, match='state_dict'):
        publish_checkpoint(str(tmp_path / 'x.pth'), str(tmp_path / 'y.pth'))
