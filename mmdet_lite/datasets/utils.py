"""Dataset checks used by the engine before training."""


def _heads_num_classes(model) -> dict:
    """``{attribute path: num_classes}`` of every sub-module that declares ``num_classes``."""
    found = {}
    for name, module in model.named_modules():
        num = getattr(module, 'num_classes', None)
        if isinstance(num, int) and not isinstance(num, bool):
            found[name or type(model).__name__] = num
    return found


def check_num_classes(model, dataset) -> None:
    """Raise if a head's ``num_classes`` differs from ``len(dataset.CLASSES)``.

    RPN heads (class-agnostic, ``num_classes`` 1) are skipped. Call before training starts.
    """
    classes = getattr(dataset, 'CLASSES', None)
    if classes is None:
        return
    wrong = {name: num for name, num in _heads_num_classes(model).items()
             if num != len(classes) and 'rpn' not in name.lower()}
    if wrong:
        raise ValueError(f'the model\'s num_classes {wrong} do not match the '
                         f'{len(classes)} classes of {type(dataset).__name__} ({tuple(classes)}); '
                         f'set num_classes={len(classes)} in the heads (e.g. '
                         f'model.roi_head.bbox_head.num_classes) or classes=(...) in the dataset')
