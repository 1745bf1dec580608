"""The `rtstyle` command line: one group, one module per command, imported only when that command runs."""
