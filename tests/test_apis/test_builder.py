"""One path from config + checkpoint to a model: ``tools/test.py``, ``init_detector`` and the
benchmark build the same model from the tiny Mask R-CNN trained in-test (tests/conftest.py)."""
import pytest
import torch

from mmdet_lite.analysis.benchmark import build_benchmark_models
from mmdet_lite.apis import build_detector_from_config, init_detector
from mmdet_lite.checkpoint import load_checkpoint_safely, unwrap_state_dict
from tests.test_tools.tool_loader import load_tool

SHAPES_CLASSES = ('circle', 'triangle', 'square', 'star')


def test_test_tool_init_detector_and_benchmark_build_the_same_model(
        tiny_shapes_checkpoint, tmp_path, monkeypatch, one_thread):
    config, checkpoint, _, _ = tiny_shapes_checkpoint
    tool = load_tool('tools/test.py')
    tested = []
    real_test = tool.single_gpu_test

    def recording_test(model, data_loader, *args):
        tested.append(model)
        return real_test(model, data_loader, *args)

    monkeypatch.setattr(tool, 'single_gpu_test', recording_test)
    tool.main([config, checkpoint, '--out', str(tmp_path / 'results.pkl'), '--device', 'cpu'])
    assert len(tested) == 1
    models = dict(test_tool=tested[0], init_detector=init_detector(config, checkpoint,
                                                                   device='cpu'))
    models['benchmark'], torchvision_twin = build_benchmark_models(config, checkpoint,
                                                                   device='cpu')
    assert torchvision_twin is None

    expected = unwrap_state_dict(load_checkpoint_safely(checkpoint), checkpoint)
    for name, model in models.items():
        assert model.CLASSES == SHAPES_CLASSES, name
        assert not model.training, name
        state = model.state_dict()
        assert list(state) == list(expected), name
        for key, value in state.items():
            assert torch.equal(value, expected[key]), (name, key)


def test_classes_fall_back_to_the_given_names(tiny_shapes_checkpoint, tmp_path):
    config, checkpoint, _, _ = tiny_shapes_checkpoint
    bare = tmp_path / 'bare.pth'
    torch.save({'state_dict': load_checkpoint_safely(checkpoint)['state_dict']}, bare)
    # what tools/test.py passes: the test dataset's class names
    model = build_detector_from_config(config, str(bare), device='cpu',
                                       default_classes=list(SHAPES_CLASSES))
    assert model.CLASSES == SHAPES_CLASSES
    # the benchmark loads strictly: a checkpoint missing a key is refused
    state = load_checkpoint_safely(checkpoint)['state_dict']
    state.pop('rpn_head.rpn_conv.weight')
    partial = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, partial)
    with pytest.raises(RuntimeError, match='rpn_head.rpn_conv.weight'):
        build_detector_from_config(config, str(partial), device='cpu', strict=True)
