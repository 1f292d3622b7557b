"""The error raised for an annotation file (or an image it references) that cannot be used."""


class AnnotationError(ValueError, AssertionError):
    """An annotation file is invalid: the message names the file, the image/annotation ids and
    the fix.

    Also an ``AssertionError``: mmdetection 2.x asserted on some of these (duplicate
    annotation ids), so a 2.x user's ``except AssertionError`` keeps catching them.
    """
