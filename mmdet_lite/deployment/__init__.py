"""Deployment of detectors outside PyTorch, for ``tools/deployment/`` (layer 6, above ``apis``).

What belongs here: the contract of the exported ONNX graph (``onnx_contract``: input/output
names, dtypes, shapes, padding rows and the graph metadata, with a reader for that metadata),
the export itself (``onnx_export``: a trace-friendly wrapper of a detector and
``torch.onnx.export``), and the backend detectors that run an exported graph (ONNX Runtime,
OpenVINO) and return the 2.x result format. Nothing in the library below this layer imports
it. Import the modules directly (``from mmdet_lite.deployment.onnx_contract import
read_metadata``): this ``__init__`` re-exports nothing so that a tool loads only what it uses,
and so that ``onnx``/``onnxruntime`` (the ``deploy`` extra) are needed only by what uses them.
"""
