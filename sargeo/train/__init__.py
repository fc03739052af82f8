"""sargeo.train (see DESIGN.md)."""
