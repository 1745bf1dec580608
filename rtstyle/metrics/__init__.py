"""Quality metrics for styles: temporal stability of clips (and, once merged, content and style losses)."""
