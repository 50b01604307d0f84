"""Task registry. A task is one class instance and one registry line."""

from workbench.io.image import IMAGE_FILE_TYPES
from workbench.registry import Registry
from workbench.tasks.audio import AudioTask
from workbench.tasks.base import MODALITIES, OUTPUT_KINDS, Axes, GroundTruth, Picture, Sample, Task
from workbench.tasks.image import ImageTask

TASKS: Registry[Task] = Registry("task")

TASKS.register(ImageTask(
    id="lung_xray",
    name="Lung X-ray: normal vs affected",
    output_kind="classification",
    labels=("normal", "affected"),
    description="Chest radiograph phantoms; 'affected' cases hold 1-3 nodules or opacities whose "
                "masks are known, so an explanation can be checked against the truth.",
    file_types=IMAGE_FILE_TYPES,
))


def get_task(task_id: str) -> Task:
    return TASKS[task_id]


__all__ = ["MODALITIES", "OUTPUT_KINDS", "TASKS", "AudioTask", "Axes", "GroundTruth", "ImageTask", "Picture",
           "Sample", "Task", "get_task"]
