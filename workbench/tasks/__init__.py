"""Task registry. A task is one class instance and one registry line."""

from workbench.io.audio import AUDIO_FILE_TYPES
from workbench.io.image import IMAGE_FILE_TYPES
from workbench.paths import SPEECH_DIR, XRAY_DIR
from workbench.registry import Registry
from workbench.specs import GENERIC_TASK
from workbench.tasks.audio import AudioTask
from workbench.tasks.base import MODALITIES, OUTPUT_KINDS, Axes, Case, GroundTruth, Picture, Sample, Task
from workbench.tasks.image import ImageTask
from workbench.tasks.quality import ImageQualityTask

TASKS: Registry[Task] = Registry("task")

TASKS.register(ImageTask(
    id="lung_xray",
    name="Lung X-ray: normal vs affected",
    output_kind="classification",
    labels=("normal", "affected"),
    description="Chest radiograph phantoms; 'affected' cases hold 1-3 nodules or opacities whose "
                "masks are known, so an explanation can be checked against the truth. Where the shared folder "
                "of real pediatric films is on this machine, a few of its held-out films are samples too "
                "('real: ...'; pneumonia is 'affected', and there is no mask).",
    file_types=IMAGE_FILE_TYPES,
    real_samples=XRAY_DIR,  # films of patients that training holds out (io/xray_folder.py)
    # every method but IG, LIME and SHAP hits the lesion in 0.86-0.99 of cases, Grad-CAM 0.89 (docs/known_truth.md)
    default_model="lung_xray-resnet34-compact",
))


TASKS.register(ImageTask(
    id="histopathology",
    name="Histopathology: 9 PathMNIST tissue classes",
    output_kind="classification",
    labels=("ADI", "BACK", "DEB", "LYM", "MUC", "MUS", "NORM", "STR", "TUM"),
    description="H&E tissue patches (64x64): adipose, background, debris, lymphocytes, mucus, smooth muscle, "
                "normal mucosa, stroma, tumour epithelium, in PathMNIST's label order. Bundled samples are "
                "generated, with a mask of each class's defining structure (nuclei, gland lumens, fat cells).",
    file_types=IMAGE_FILE_TYPES,
))

TASKS.register(ImageQualityTask(
    id="iqa_segmentation",
    name="Image quality: foreign objects on chest X-rays",
    output_kind="segmentation",
    labels=("background", "object_over_lungs", "object_elsewhere", "lung_field"),
    description="Chest radiograph phantoms with buttons, coins, ECG leads, chains, clips or a pacemaker; the "
                "model segments them, and the quality score is the percent of the lung fields left "
                "uncovered (good >= 98, acceptable >= 90, poor below). Samples come with object masks.",
    file_types=IMAGE_FILE_TYPES,
))

TASKS.register(AudioTask(
    id="audio_deepfake",
    name="Audio deepfake: bona fide vs spoofed speech",
    output_kind="classification",
    labels=("bonafide", "spoof"),
    description="Speech in 4 s windows as log-mel spectrograms (frequency x time). Spoofs are text-to-speech, "
                "vocoder re-synthesis, or partial: one span of a real recording replaced, and that span is "
                "the ground truth. Listen to what the model relied on in the Explanations tab.",
    file_types=AUDIO_FILE_TYPES,
    real_samples=(SPEECH_DIR, "*_2.wav"),  # the recordings training holds out (data/speech.py, CLIPS)
    default_model="audio_deepfake-mobilenetv2-compact",  # the best of the three held out (docs/models.md)
))

TASKS.register(ImageTask(
    id=GENERIC_TASK,
    name="Any image classifier (Hugging Face Hub)",
    output_kind="classification",
    labels=(),
    description="A transformers, timm or Keras image classifier from the Hub (or a folder), with its own labels, "
                "input size and normalisation. Samples are photographs that ship with scikit-image; there is no "
                "ground truth, so localisation is not scored.",
    file_types=IMAGE_FILE_TYPES,
    photos=("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png"),
))


def get_task(task_id: str) -> Task:
    return TASKS[task_id]


__all__ = ["MODALITIES", "OUTPUT_KINDS", "TASKS", "AudioTask", "Axes", "Case", "GroundTruth", "ImageQualityTask",
           "ImageTask", "Picture", "Sample", "Task", "get_task"]
