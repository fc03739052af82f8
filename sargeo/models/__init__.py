"""sargeo.models (see DESIGN.md)."""
