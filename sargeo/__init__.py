"""sargeo: SAR vision-language for GIS."""

__version__ = "0.1.0"
