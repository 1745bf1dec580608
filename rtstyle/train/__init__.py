"""Training feed-forward style networks (Johnson et al. 2016) with perceptual losses. Needs torch."""

from rtstyle.torch_threads import prefer_short_spinning

# Before any of this package's modules loads torch, also for scripts that use the trainer without the CLI.
prefer_short_spinning()
