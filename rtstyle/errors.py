"""The one exception type that means "the user gave us something we cannot use"."""


class RtstyleError(Exception):
    """A problem with the user's input or environment.

    The CLI prints it as one line and exits with code 2; anything else is a bug and keeps its traceback.
    """

    exit_code = 2


def require_torch(feature: str) -> None:
    """Fail with an install hint when a torch-only feature is used in the core install."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise RtstyleError(f"{feature} needs PyTorch: pip install 'rtstyle[train]'")
