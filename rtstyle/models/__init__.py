"""Style network architectures.

An architecture is a declarative `NetSpec` (pure Python, no torch) registered by name. The same spec is
turned into a torch module for training (`rtstyle.models.torch_net`) and into an ONNX graph for inference
without torch (`rtstyle.export.onnx_graph`), so the two can never drift apart.
"""

from rtstyle.models.registry import available_models, create_spec, register_model
from rtstyle.models.spec import Conv, NetSpec, Residual

# Importing the architecture modules registers them.
from rtstyle.models import johnson as _johnson  # noqa: E402,F401
from rtstyle.models import fast as _fast  # noqa: E402,F401

__all__ = ["Conv", "NetSpec", "Residual", "available_models", "create_spec", "register_model"]
