"""sargeo.narrator (see DESIGN.md)."""
