"""Scoring results: ICDAR 2015 detection and end-to-end, word accuracy on crops, analysis and plots."""
