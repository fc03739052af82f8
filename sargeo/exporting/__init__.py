"""sargeo.exporting (see DESIGN.md)."""
