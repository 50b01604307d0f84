"""Evaluations over many generated cases: what a model relies on, measured before any explanation."""
