"""SAR-RS-CLIP on open_clip: configs as JSON data (``configs/``), a factory, tokenizers.

``create_model("sar-rs-clip-tiny" | "sar-rs-clip-lite" | "sar-rs-clip-vit-b-32" | "sar-rs-clip-vit-l-14")``.
"""

from sargeo.models.clip.factory import DEFAULT_MODEL, create_model, list_models, load_config
from sargeo.models.clip.model import SarClip

__all__ = ["DEFAULT_MODEL", "SarClip", "create_model", "list_models", "load_config"]
