"""Parameter names and shapes of a NetSpec, shared by the torch module and the ONNX builder.

The names are those of `rtstyle.models.torch_net.StyleNet.state_dict()`, so weights move between the
two with no renaming.
"""

from __future__ import annotations

from collections.abc import Iterator

from rtstyle.models.spec import Conv, NetSpec, Residual


def conv_prefixes(spec: NetSpec) -> Iterator[tuple[str, Conv]]:
    """(state-dict prefix, conv) for every conv in network order."""
    for i, layer in enumerate(spec.layers):
        if isinstance(layer, Residual):
            for j, conv in enumerate(layer.body):
                yield f"layers.{i}.body.{j}", conv
        else:
            yield f"layers.{i}", layer


def expected_weight_shapes(spec: NetSpec) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for prefix, conv in conv_prefixes(spec):
        shapes[f"{prefix}.conv.weight"] = (conv.out_ch, conv.in_ch // conv.groups, conv.kernel, conv.kernel)
        shapes[f"{prefix}.conv.bias"] = (conv.out_ch,)
        if conv.norm:
            shapes[f"{prefix}.norm.weight"] = (conv.out_ch,)
            shapes[f"{prefix}.norm.bias"] = (conv.out_ch,)
    return shapes
