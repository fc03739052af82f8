"""sargeo.eval (see DESIGN.md)."""
