"""The version of the ONNX graphs rtstyle builds, on its own: looking up a cached model needs it but not the
`onnx` package, whose import took 1.3-2.3 s of every stylizing command's start on the 2-core VM."""

# Bump whenever build_onnx writes a different model for the same weights (ops, metadata, io): cached models
# (rtstyle.engine.onnx_cache, which `rtstyle quantize` and every stylizing command use) are keyed by it, so an
# upgraded rtstyle rebuilds them instead of running, or quantising, the graph an older version wrote.
# 2: the input/output description, image metadata and denotations; rtstyle_arch_kwargs in JSON.
GRAPH_VERSION = 2
