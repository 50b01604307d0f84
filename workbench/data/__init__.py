"""Generators of data with known ground truth, for training, samples and evaluating explanations, and
readers of real data (`medmnist`: MedMNIST files; `real_xray`: real chest films as a recipe's data).

`CASES` offers, per task id, inputs generated on request with their truth (`Case`): the app lists
them beside the task's sample files.
"""

from collections.abc import Callable

from workbench.data import speech
from workbench.registry import Registry
from workbench.tasks import Case

CASES: Registry[Callable[[], list[Case]]] = Registry("case generator")
CASES.register(speech.held_out_cases, key="audio_deepfake")


def generated_cases(task_id: str) -> list[Case]:
    """The task's generated cases, or none."""
    return CASES[task_id]() if task_id in CASES else []


__all__ = ["CASES", "generated_cases"]
