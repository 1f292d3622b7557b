"""print_config prints a config that re-loads as the same config."""
import os.path as osp

from mmengine.config import Config

from .tool_loader import REPO, load_tool


def test_printed_config_reloads_equal(tmp_path, capsys):
    config = osp.join(REPO, 'configs', '_base_', 'models', 'mask_rcnn_r50_fpn.py')
    options = ['model.backbone.depth=101', 'model.neck.in_channels=[1,2,3,4]',
               'model.test_cfg.rcnn.max_per_img=7']
    tool = load_tool('tools/analysis_tools/print_config.py')
    tool.main([config, '--cfg-options'] + options + ['--save-path', str(tmp_path / 'saved.py')])
    printed = tmp_path / 'printed.py'
    printed.write_text(capsys.readouterr().out)

    expected = Config.fromfile(config)
    expected.merge_from_dict({'model.backbone.depth': 101, 'model.neck.in_channels': [1, 2, 3, 4],
                              'model.test_cfg.rcnn.max_per_img': 7})
    for path in (printed, tmp_path / 'saved.py'):
        reloaded = Config.fromfile(str(path))
        assert reloaded.to_dict() == expected.to_dict()
        assert reloaded.model.backbone.depth == 101
        assert reloaded.model.test_cfg.rcnn.max_per_img == 7
