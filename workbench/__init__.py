"""Shared building blocks of the XAI workbench: data generators, networks, training, I/O, drawing.

The user-facing contracts live in the root modules `inference.py` (tasks, models) and
`xai_models.py` (methods); this package holds what they are built from.
"""
