"""rtstyle: real-time video style transfer with feed-forward style networks.

Importing the package is cheap and never imports torch: the core install runs styles through
onnxruntime, and torch is only needed for training (`pip install "rtstyle[train]"`).
"""

__version__ = "0.1.0"

from rtstyle.errors import RtstyleError

__all__ = ["RtstyleError", "__version__"]
