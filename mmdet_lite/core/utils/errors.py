"""The error types of mmdet_lite's argument and config checks (docs/migration.md, "Error types").

One policy: a check raises the exception that names the problem (``ValueError`` for a bad value,
``TypeError`` for a bad type, ``KeyError`` for an unknown name) with a message that names the
argument, the value and the fix. Where mmdetection 2.x raised a different type for the same
mistake (mostly a bare ``assert``), the error also derives from that type, so a 2.x user's
``except AssertionError`` (or ``TypeError`` / ``NotImplementedError``) keeps working.

Use these only where 2.x rejected the same input; a check 2.x did not have raises the plain
builtin type.
"""

__all__ = [
    'ConfigValueError', 'ConfigTypeError', 'ConfigKeyError', 'ConfigNotImplementedError',
    'UnsupportedValueError', 'UnsupportedTypeError', 'ValueTypeError'
]


class ConfigValueError(ValueError, AssertionError):
    """A bad argument or config value; mmdetection 2.x asserted on it."""


class ConfigTypeError(TypeError, AssertionError):
    """An argument or config value of the wrong type; mmdetection 2.x asserted on it."""


class ConfigKeyError(KeyError, AssertionError):
    """An unknown name (architecture, stage, option); mmdetection 2.x asserted on it."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; keep the message readable.
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class ConfigNotImplementedError(NotImplementedError, AssertionError):
    """An option combination that does not exist (e.g. dcn on a BasicBlock); 2.x asserted."""


class UnsupportedValueError(ValueError, NotImplementedError):
    """A value that names an option that does not exist; mmdetection 2.x raised
    ``NotImplementedError`` for it."""


class UnsupportedTypeError(TypeError, NotImplementedError):
    """An argument of a type that is not handled; mmdetection 2.x raised
    ``NotImplementedError`` for it."""


class ValueTypeError(ValueError, TypeError):
    """A bad argument value; mmdetection 2.x raised ``TypeError`` for it."""
