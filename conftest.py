"""Root conftest: the workbench package first (it imports torch and triton before TensorFlow can load)."""

import workbench  # noqa: F401
