"""Analysis of detectors, datasets and runs, for ``tools/analysis_tools/`` (layer 6, above
``apis``).

What belongs here: code that measures or inspects a model, a dataset or a training run and
that only the tools (and their tests) need: inference latency (``benchmark``), parameter and
FLOP counts (``flops``), training-log curves and timings (``log_analysis``), the detection
confusion matrix (``confusion_matrix``), drawing a dataset's ground truth (``browse``), the best
and worst images of a test run (``analyze_results``), the COCO error breakdown
(``coco_error_analysis``), the recall of occluded/separated COCO masks (``occluded_recall``),
fitting YOLO anchors (``anchor_optimizer``) and the corruption benchmark (``robustness``,
aggregated by ``robustness_eval``).
Nothing in the library below this layer imports it; code a detector needs to train, test or
infer belongs in ``apis``/``engine`` instead. Import the modules directly
(``from mmdet_lite.analysis.flops import model_complexity``): this ``__init__`` re-exports
nothing so that a tool loads only what it uses.
"""
