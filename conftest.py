"""Root conftest: torch (and triton via torch._dynamo) must be imported before TensorFlow."""

import torch  # noqa: F401
import torch._dynamo  # noqa: F401
