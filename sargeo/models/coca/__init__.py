"""SAR-RS-CoCa on open_clip's CoCa: configs as JSON data (``configs/``), a factory, the decoder step.

``create_model("sar-rs-coca-tiny" | "sar-rs-coca-lite" | "sar-rs-coca-vit-b-32" | "sar-rs-coca-vit-l-14")``.
"""

from sargeo.models.coca.factory import DEFAULT_MODEL, create_model, list_models, load_config
from sargeo.models.coca.model import SarCoca, TorchStep

__all__ = ["DEFAULT_MODEL", "SarCoca", "TorchStep", "create_model", "list_models", "load_config"]
