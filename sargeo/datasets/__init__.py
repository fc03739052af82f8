"""sargeo.datasets: adapters from real SAR dataset formats to `Sample` records, and writers.

One module per format, each a function returning an `AdapterResult` (samples plus what was skipped):
`coco.load_coco`, `voc.load_voc`, `segmentation.load_segmentation` (and `load_sen1floods11`),
`pairs.load_pairs`, `opensarship.load_opensarship`, `synthetic.load_synthetic`; `detect.load_dataset`
guesses the format of a folder. `writers` holds the JSONL and open_clip CSV writers.
"""

from sargeo.datasets.base import AdapterResult, Skipped

__all__ = ["AdapterResult", "Skipped"]
