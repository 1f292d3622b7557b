"""Conversion between mmdet_lite checkpoints and other formats or libraries, for
``tools/model_converters/`` (layer 6, above ``apis``).

What belongs here: code that rewrites weights or checkpoints for another consumer, and the
glue needed to check such a conversion: publishing a trained checkpoint (``publish``: drop the
training state, hash-named file), mapping torchvision's Faster/Mask R-CNN state dicts onto
mmdetection 2.x names and back (``torchvision_convert``), and running torchvision's twin model
on a batch mmdet_lite's pipeline prepared (``torchvision_runner``), which the parity tests and
the benchmark use; detectron2 model-zoo / Detectron weights (``detectron2_convert``, read by the
numpy-only unpickler of ``numpy_pickle``); old mmdetection checkpoints (``model_version``);
MoCo backbones (``selfsup_convert``); and dataset annotations into COCO json (``voc_to_coco``,
``images_to_coco``, ``cityscapes_to_coco``) or split ones (``coco_split``). Nothing in the
library below this layer imports it. Import the modules directly
(``from mmdet_lite.convert.publish import publish_checkpoint``): this ``__init__`` re-exports
nothing so that a tool loads only what it uses.
"""
