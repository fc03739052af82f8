"""The Processing algorithms of the ``sargeo`` provider."""
