"""XAI workbench: the library under the two entry points (`inference.py`, `xai_models.py`) and the app.

Importing this package imports torch and torch._dynamo (which loads triton) first. TensorFlow
imported before triton makes the process segfault (two LLVMs collide; ../shared/guide/environment.md),
so every entry point that imports `workbench` before anything else is safe. This is the one place
that guard lives.
"""

import torch  # noqa: F401
import torch._dynamo  # noqa: F401
