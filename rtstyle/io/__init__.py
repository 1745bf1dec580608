"""File input and output shared by every command: atomic writes, images, video."""
