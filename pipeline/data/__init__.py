"""Data the project makes or cuts: rendered scenes with exact ground truth, hard cases, crops for training."""
