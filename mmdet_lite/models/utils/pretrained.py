"""2.x's deprecated ``pretrained=`` argument of backbones and shared heads, as an ``init_cfg``."""
from typing import List, Optional, Union

from ...core.utils.errors import ConfigValueError

InitCfg = Optional[Union[dict, List[dict]]]


def init_cfg_with_pretrained(owner: str, pretrained: Optional[str], init_cfg: InitCfg) -> InitCfg:
    """The ``init_cfg`` that ``pretrained`` (a checkpoint path or URL) stands for:
    ``dict(type='Pretrained', checkpoint=pretrained)``; ``init_cfg`` unchanged when it is None.

    Giving both is a ``ConfigValueError`` (2.x asserted); a ``pretrained`` that is not a str is
    a ``TypeError``, as in 2.x.
    """
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise TypeError(f'{owner} pretrained must be a checkpoint path or URL (str) or None, got '
                        f'{pretrained!r}')
    if init_cfg is not None:
        raise ConfigValueError(f'give either pretrained or init_cfg to {owner}, not both')
    return dict(type='Pretrained', checkpoint=pretrained)
