"""Style files (weights + metadata in one safetensors file) and finding them by name or path."""

from rtstyle.styles.catalog import StyleEntry, find_style, list_styles
from rtstyle.styles.format import StyleFile, load_style_file, save_style_file

__all__ = ["StyleEntry", "StyleFile", "find_style", "list_styles", "load_style_file", "save_style_file"]
