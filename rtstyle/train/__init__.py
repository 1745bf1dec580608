"""Training feed-forward style networks (Johnson et al. 2016) with perceptual losses. Needs torch."""
