"""Runs docs/tutorials/config.md: its config files are written, its Python checks executed and
its print_config command run (in a scratch folder with configs/_base_ linked)."""
import os
import os.path as osp

from tests.test_docs.markdown_blocks import REPO, code_blocks, run_shell_block, write_file_blocks

TUTORIAL = osp.join(REPO, 'docs', 'tutorials', 'config.md')


def test_config_tutorial_blocks_run(tmp_path, monkeypatch, capsys):
    os.makedirs(tmp_path / 'configs')
    os.symlink(osp.join(REPO, 'configs', '_base_'), tmp_path / 'configs' / '_base_')
    monkeypatch.chdir(tmp_path)
    blocks = code_blocks(TUTORIAL)
    assert write_file_blocks(tmp_path, blocks) == [
        'configs/my/faster_rcnn_r50_fpn_1x_my.py', 'configs/my/faster_rcnn_r101_fpn_2x_my.py',
        'configs/my/faster_rcnn_r50_fpn_adamw_1x_my.py',
        'configs/my/faster_rcnn_r50_fpn_1x_my_small.py']
    ran = 0
    for lang, body in blocks:
        if lang == 'python' and not body.startswith('# file: '):
            exec(compile(body, TUTORIAL, 'exec'), {'__name__': 'tutorial'})
            ran += 1
        elif lang == 'shell':
            run_shell_block(body)
            ran += 1
    assert ran == 5
    printed = capsys.readouterr().out
    assert 'optimizer = dict(lr=0.01' in printed and 'step=[\n' in printed

    from mmengine.config import Config
    small = Config.fromfile('configs/my/faster_rcnn_r50_fpn_1x_my_small.py')
    assert small.data.train.pipeline[2].img_scale == (640, 480)
    assert small.data.val.pipeline[1].img_scale == (1333, 800)  # untouched: only train changed
