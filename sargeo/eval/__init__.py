"""Metrics of the SAR-TEXT models: captions (`caption.evaluate_captions`: pycocoevalcap's metrics and
fact accuracy against the ground truth, `facts`) and VQA (`vqa.evaluate_vqa`); retrieval comes with
SAR-RS-CLIP. Each entry point returns scores with ``table()`` and ``to_json()`` for ``sargeo eval``."""
