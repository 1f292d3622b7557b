"""The errors raised for an annotation file (or an image it references) that cannot be used."""


class AnnotationError(ValueError):
    """An annotation file is invalid: the message names the file, the image/annotation ids and
    the fix."""


class DuplicateIdError(AnnotationError, AssertionError):
    """An id occurs more than once in an annotation file. Also an ``AssertionError``, as
    mmdetection 2.x asserted on duplicate annotation ids (docs/migration.md, "Error types"):
    a 2.x user's ``except AssertionError`` keeps catching it."""
