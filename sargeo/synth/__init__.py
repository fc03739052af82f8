"""sargeo.synth (see DESIGN.md)."""
