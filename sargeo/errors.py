"""User-facing errors: the CLI prints their message on one line and exits with code 2."""


class SargeoError(Exception):
    """An error caused by the user's input (bad file, bad option), not by a bug."""


class NotBuiltYetError(SargeoError):
    """A command of the contract that this version does not implement yet."""
