"""Torch-free inference: onnxruntime + numpy. Shared by the CLI, the notebooks and the QGIS plugin.

Never import torch, open_clip or transformers here.
"""
