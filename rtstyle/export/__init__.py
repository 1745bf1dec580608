"""Turning style networks into ONNX models (built from the NetSpec with numpy alone, no torch needed)."""
