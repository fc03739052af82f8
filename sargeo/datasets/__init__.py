"""sargeo.datasets (see DESIGN.md)."""
