"""SAR-GPT: a frozen SAR-RS-CLIP image tower, a projector and a small causal language model (LoRA)."""

from sargeo.models.gpt.factory import create_gpt, list_models, load_config, load_gpt
from sargeo.models.gpt.model import SarGpt

__all__ = ["SarGpt", "create_gpt", "list_models", "load_config", "load_gpt"]
