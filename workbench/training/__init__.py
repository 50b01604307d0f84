"""Training the bundled models on generated data (used by the notebooks, the Makefile and tests)."""
