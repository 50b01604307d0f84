"""Generators of data with known ground truth, for training, samples and evaluating explanations."""
