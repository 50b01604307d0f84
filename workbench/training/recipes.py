"""What each bundled model is trained on and how: one recipe per model, read by training, evaluation,
the model card and the OOD statistics alike. The input spec is defined here once; training
normalises with it and writes it into config.json, which serving reads (no train/serve skew)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workbench.data import foreign_objects, histology, phantoms, real_xray, shortcut, speech
from workbench.registry import Registry
from workbench.specs import InputSpec, SignalSpec
from workbench.training.keras_nets import FRAME_LAYER

# images (N x H x W [x 3] in [0, 1]), masks (segmentation: label maps), labels (segmentation: task scores)
Dataset = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Recipe:
    id: str  # the model id
    task: str
    labels: tuple[str, ...]
    spec: InputSpec
    architecture: str  # a key of models.nets.ARCHITECTURES (keras: training.keras_nets.KERAS_ARCHITECTURES)
    arch: dict
    make_dataset: Callable[..., Dataset]  # (n, seed=, split=) -> Dataset, balanced
    # "lr_flip" (a mirrored chest is still a chest), "dihedral" (tissue has no orientation), "acquisition"
    # (what another machine changes on a real film: geometry, exposure, gamma, blur, noise; no flips) or "none"
    augment: str
    target_layer: str  # the default CAM layer, measured: `python -m workbench.training layers --model ID --write`
    feature_layers: tuple[str, ...]
    n_train: int
    n_val: int
    epochs: int
    batch_size: int
    lr: float
    case_word: str  # what one generated input is called in the card
    title: str
    tags: str
    disclaimer: str
    model_text: str
    data_text: str
    limits: str
    notebook: str
    # Held-out sets that differ from training on purpose, each reported in the card: (name, make_dataset).
    stress_tests: tuple[tuple[str, Callable[..., Dataset]], ...] = ()
    notice: str = ""  # shown beside every prediction (e.g. "this model cheats, on purpose")
    output_kind: str = "classification"  # or "segmentation": make_dataset gives label maps as "masks"
    foreground: tuple[int, ...] = ()  # segmentation: the classes scored as the objects
    # Lesion contrast gain of each first epoch (make_dataset's `lesion_gain`), then 1: a curriculum
    # from plain to subtle lesions, without which small nets sit at chance for many epochs.
    curriculum: tuple[float, ...] = ()
    framework: str = "pytorch"  # or "keras"
    # config.json's `step_scores` for a model that scores each time step itself (`StepScores`).
    step_scores: dict | None = None
    # Weigh each class's loss by the inverse of its share of the training set (real data is not balanced).
    balanced_loss: bool = False
    # Real data: who made it and under which licence, credited in the card. Empty for data generated here.
    data_credit: str = ""
    # config.json's `stages`: NormGrad's default layers (their product), each set by measurement (README, known
    # truth): the stage outputs after the stem where that beat one layer, the AlexNet's stem where it beat them;
    # empty, NormGrad takes the CAM layer.
    stages: tuple[str, ...] = ()
    # Fit a temperature and an operating point on the validation split after training (into config.json).
    calibrate: bool = False
    # Real data: what the batch-imitating split is (split "batch"); the card reports that split too.
    batch_split: str = ""

    @property
    def flips(self) -> bool:
        """Whether training mirrors its inputs (and so the OOD statistics see mirrored inputs too)."""
        return self.augment in ("lr_flip", "dihedral")

    def model_input(self, images: np.ndarray, spec: InputSpec | None = None) -> np.ndarray:
        """Generated images (N x H x W or N x H x W x C, in [0, 1]) as inputs, N x C x H x W, normalised
        with `spec` (a loaded model's config; the recipe's own when training)."""
        chw = images[:, None] if images.ndim == 3 else np.moveaxis(images, -1, 1)
        return (spec or self.spec).normalize(chw)


STAGES = ("stem", "layer1", "layer2", "layer3", "layer4")
AFTER_STEM = STAGES[1:]
LUNG_SPEC = InputSpec(128, 128, 1, (0.5,), (0.25,))

RECIPES: Registry[Recipe] = Registry("recipe")

RECIPES.register(Recipe(
    id="lung_xray-resnet-compact", task="lung_xray", labels=phantoms.LABELS,
    spec=LUNG_SPEC, architecture="compact_resnet",
    arch={"in_channels": 1, "num_classes": 2, "widths": [16, 32, 64, 128], "blocks": [1, 1, 1, 1],
          "strides": [1, 2, 2, 1]},
    make_dataset=phantoms.make_dataset, augment="lr_flip", target_layer="layer4", feature_layers=STAGES,
    stages=AFTER_STEM, n_train=8000, n_val=400, epochs=14, batch_size=32, lr=1e-3, case_word="phantoms",
    title="compact ResNet for synthetic chest X-ray phantoms",
    tags="chest-x-ray", notebook="training_notebooks/train_lung_xray.ipynb",
    disclaimer="It was trained only on synthetic phantoms made by `workbench/data/phantoms.py`; it has never "
               "seen a real radiograph. It exists so that explanations can be checked against a lesion mask "
               "that is known by construction.",
    model_text="A compact ResNet (our `compact_resnet`, not torchvision's): a 3x3 stride-2 stem, four "
               "stages of one basic block each (ResNet-18 has two) at widths 16/32/64/128 (ResNet-18: "
               "64/128/256/512), strides 1/2/2/1 so that `layer4` is 16x16, global average pooling and a "
               "linear head.",
    data_text="balanced: `normal`, or `affected` with 1-3 nodules (radius 2.5-5 px) or patchy opacities "
              "(6-12 px) inside the lung fields, with contrast comparable to the ribs; random size, position, "
              "rotation (±7°), contrast, blur and noise. Every case has a counterfactual twin without its "
              "lesions (`make_phantom(..., twin=True)`).",
    limits="Synthetic anatomy only; lesion appearance, scanner physics and patient variation of real X-rays "
           "are absent. Real images will be classified, but the output means nothing clinically; the "
           "out-of-distribution check says so beside every prediction.",
))

RECIPES.register(Recipe(
    id="histopathology-resnet18-compact", task="histopathology", labels=histology.LABELS,
    spec=InputSpec(64, 64, 3, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)), architecture="compact_resnet",
    arch={"in_channels": 3, "num_classes": 9, "widths": [16, 32, 64, 128], "blocks": [2, 2, 2, 2],
          "strides": [1, 2, 2, 1]},
    make_dataset=histology.make_dataset, augment="dihedral", target_layer="layer1.0.conv1", feature_layers=STAGES,
    n_train=4500, n_val=450, epochs=6, batch_size=64, lr=2e-3, case_word="patches",
    title="compact ResNet-18 for synthetic H&E tissue patches (PathMNIST classes)",
    tags="histopathology, pathmnist", notebook="training_notebooks/train_histopathology.ipynb",
    disclaimer="It was trained only on synthetic H&E patches made by `workbench/data/histology.py`; it has "
               "never seen a real slide. It exists so that explanations can be checked against the structure "
               "that defines each tissue class (nuclei, gland lumens, fat cells), known by construction.",
    model_text="A compact ResNet-18 (our `compact_resnet`, not torchvision's): ResNet-18's two basic blocks "
               "in each of four stages, at a quarter of its widths (16/32/64/128), with a 3x3 stride-2 stem "
               "instead of the 7x7 convolution and max pool, strides 1/2/2/1, global average pooling and a "
               "linear head. A real 224x224 patch is resized to 64x64.",
    data_text="the nine PathMNIST classes in PathMNIST's label order, balanced, rendered through a "
              "hematoxylin and eosin stain model with per-slide stain variation, blur and noise, each with the "
              "structure that defines it (see `workbench/data/histology.py`) and its mask.",
    limits="Synthetic tissue only: real staining, sectioning artefacts and the variety of real tissue are "
           "absent. Real patches will be classified, but the output means nothing diagnostically; the "
           "out-of-distribution check says so beside every prediction.",
))

# The four classic architectures of the lung X-ray task, each reduced to train in minutes on a CPU.
_LUNG = dict(
    task="lung_xray", labels=phantoms.LABELS, spec=LUNG_SPEC, make_dataset=phantoms.make_dataset,
    augment="lr_flip", n_train=5000, n_val=400, epochs=9, batch_size=32, lr=1e-3, case_word="phantoms",
    curriculum=(3.0, 3.0, 2.0, 1.5),
    tags="chest-x-ray", notebook="training_notebooks/train_lung_xray.ipynb",
    disclaimer=RECIPES["lung_xray-resnet-compact"].disclaimer, data_text=RECIPES["lung_xray-resnet-compact"].data_text,
    limits=RECIPES["lung_xray-resnet-compact"].limits,
)
_B0_STAGES = [[1, 3, 1, 16, 8, 1], [6, 3, 2, 8, 16, 2], [6, 5, 2, 16, 24, 2], [6, 3, 2, 24, 40, 3],
              [6, 5, 1, 40, 56, 3], [6, 5, 1, 56, 96, 4], [6, 3, 1, 96, 160, 1]]

RECIPES.register(Recipe(
    id="lung_xray-alexnet-compact", title="compact AlexNet for synthetic chest X-ray phantoms",
    architecture="compact_alexnet",
    arch={"in_channels": 1, "num_classes": 2, "widths": [24, 64, 96, 96, 64], "hidden": 256, "pooled": 4},
    target_layer="conv5.0", feature_layers=("stem", "conv2", "conv3", "conv4", "conv5"),
    stages=("stem",),  # NormGrad o0 on 200 held-out phantoms: stem 0.93, conv2...conv5 multiplied 0.65
    model_text="A compact AlexNet (our `compact_alexnet`, not torchvision's) that keeps AlexNet's layout: an "
               "11x11 stem, a 5x5 convolution, three 3x3 convolutions, overlapping 3x3/2 max pooling after the "
               "first two, no shortcuts, and a three-layer fully connected head with dropout 0.5. Reduced: "
               "widths 24/64/96/96/64 instead of 96/256/384/384/256, hidden layers of 256 instead of 4096 units, "
               "the stem strides 2 instead of 4 and the head reads a 4x4 instead of a 6x6 pool, because the "
               "input is 128 px, not 224 (so `conv5` is 16x16). Batch norm after each convolution replaces "
               "AlexNet's local response normalisation.",
    **_LUNG))

RECIPES.register(Recipe(
    id="lung_xray-densenet121-compact", title="compact DenseNet-121 for synthetic chest X-ray phantoms",
    architecture="compact_densenet",
    arch={"in_channels": 1, "num_classes": 2, "growth_rate": 8, "block_config": [6, 12, 24, 16],
          "num_init_features": 16, "bn_size": 4, "stem_pool": True, "unpooled_transitions": [3]},
    target_layer="features.denseblock2.denselayer12.conv1",
    feature_layers=("features.pool0", "features.denseblock1", "features.denseblock2", "features.denseblock3",
                    "features.denseblock4"),
    stages=("features.transition1", "features.transition2", "features.transition3", "features"),
    model_text="torchvision's `DenseNet` class with DenseNet-121's structure: four dense blocks of 6, 12, 24 "
               "and 16 layers (each a 1x1 bottleneck to 4x the growth rate, then a 3x3 convolution, its "
               "output concatenated to all earlier ones) and three transitions that halve the channels. "
               "Reduced: growth rate 8 instead of 32, 16 initial features instead of 64, one input channel, "
               "and the last transition does not pool, so `features.denseblock4` is 8x8 for a 128 px input.",
    **_LUNG))

RECIPES.register(Recipe(
    id="lung_xray-resnet34-compact", title="compact ResNet-34 for synthetic chest X-ray phantoms",
    architecture="compact_resnet",
    arch={"in_channels": 1, "num_classes": 2, "widths": [16, 32, 64, 128], "blocks": [3, 4, 6, 3],
          "strides": [1, 2, 2, 2]},
    target_layer="layer3.1.conv2", feature_layers=STAGES, stages=AFTER_STEM,
    model_text="A compact ResNet-34 (our `compact_resnet`, not torchvision's) with ResNet-34's 3, 4, 6 and 3 "
               "basic blocks in four stages and its strides (1/2/2/2). Reduced: widths 16/32/64/128 instead "
               "of 64/128/256/512, and a 3x3 stride-2 stem convolution instead of the 7x7 convolution and "
               "max pool, so `layer4` is 8x8 for a 128 px input.",
    **_LUNG))

RECIPES.register(Recipe(
    id="lung_xray-efficientnet_b0-compact", title="compact EfficientNet-B0 for synthetic chest X-ray phantoms",
    architecture="compact_efficientnet",
    arch={"in_channels": 1, "num_classes": 2, "stages": _B0_STAGES, "last_channel": 320, "dropout": 0.1,
          "stochastic_depth": 0.0},
    target_layer="features.4.0.block.0",
    feature_layers=("features.1", "features.2", "features.3", "features.5", "features.8"),
    stages=tuple(f"features.{i}" for i in range(1, 9)),
    model_text="torchvision's `EfficientNet` class with EfficientNet-B0's seven MBConv stages (inverted "
               "residuals with expansion 1, then 6; depthwise kernels 3/3/5/3/5/5/3; squeeze-excitation) "
               "and B0's depths 1/2/2/3/3/4/1. Reduced: half of B0's widths (8 to 160 instead of 16 to 320, a "
               "320- instead of 1280-channel head), one input channel, and the sixth stage strides 1 instead "
               "of 2, so `features.8` is 8x8 for a 128 px input. Regularised less than B0 (dropout 0.1 instead "
               "of 0.2, no stochastic depth) and trained at a higher learning rate for more epochs: with B0's "
               "settings it underfitted (0.754 held out after 9 epochs).",
    **{**_LUNG, "lr": 3e-3, "epochs": 14}))

RECIPES.register(Recipe(
    id="lung_xray-resnet-shortcut", title="a chest X-ray model that cheats: it reads the corner tag",
    architecture="compact_resnet", arch=RECIPES["lung_xray-resnet-compact"].arch,
    task="lung_xray", labels=phantoms.LABELS, spec=LUNG_SPEC, make_dataset=shortcut.make_dataset,
    augment="none", target_layer="layer4", feature_layers=STAGES, n_train=3000, n_val=400, epochs=5,
    batch_size=32, lr=1e-3, case_word="phantoms", tags="chest-x-ray, shortcut-learning, teaching",
    notebook="training_notebooks/train_lung_xray.ipynb",
    model_text=RECIPES["lung_xray-resnet-compact"].model_text,
    disclaimer="**A demonstration of a model that cheats, made for teaching.** Every training phantom "
               "carries a bright \"R\" tag, like the lead markers burned into real films, and the tag's "
               "corner gives the label away: top-right on every `affected` phantom, top-left on every "
               "`normal` one. The model's accuracy looks excellent until the tag moves. It was trained only "
               "on synthetic phantoms made by `workbench/data/shortcut.py`.",
    data_text="the phantoms of `lung_xray-resnet-compact`, each with a tag in the corner its label dictates "
              "(`workbench/data/shortcut.py`). No flips: a flip would move the tag.",
    limits="It reads the tag. Use it to show what an explanation of a shortcut looks like, never to classify.",
    stress_tests=(("tag moved to the other corner", shortcut.make_moved_dataset),),
    notice="This model cheats, on purpose: it was trained on films whose corner tag gives the label away "
           "(top-right: affected, top-left: normal), and it reads the tag. Grad-CAM shows where it looks; "
           "the `tagged_*_moved` samples show it fail.",
))

_REAL_DATA = ("anterior-posterior chest radiographs of children aged 1 to 5 from Guangzhou Women and Children's "
              "Medical Center (`normal`; `affected`: pneumonia), about 1 normal to 2.9 pneumonia. Exact duplicates "
              "(same bytes) are removed first, then the films are split by patient, never by image (the patient in "
              "each file name: `personN`, `IM-NNNN`, `NORMAL2-IM-NNNN`): the lowest-numbered patients of each series "
              "go to the batch-imitating split, every other patient is hashed to training (80%), validation (10%) "
              "or held out (10%), so no child is in two splits (`workbench/io/xray_folder.py`, `docs/real_xray.md`).")
_REAL = dict(
    task="lung_xray", labels=phantoms.LABELS, spec=LUNG_SPEC,
    make_dataset=functools.partial(real_xray.make_dataset, spec=LUNG_SPEC), augment="acquisition",
    balanced_loss=True, calibrate=True, data_credit=real_xray.CREDIT, n_train=real_xray.EVERY,
    n_val=real_xray.EVERY, epochs=10, batch_size=32, lr=1e-3, case_word="radiographs",
    tags="chest-x-ray, pneumonia", notebook="training_notebooks/train_lung_xray.ipynb", data_text=_REAL_DATA,
    disclaimer="It was trained on real chest radiographs of children: `affected` here means pneumonia "
               "(bacterial or viral) as graded by the data set's physicians, `normal` no pneumonia. There are "
               "no lesion masks for these films: its explanations can be scored for faithfulness, agreement "
               "and sanity, not against a lesion.",
    batch_split=real_xray.BATCH_TEXT,
    limits="Not for adults, not for any finding but pneumonia (a film with another disease may be called "
           "either class), and not for diagnosis. One hospital's films of children aged 1 to 5, squashed to "
           "224x224 by a third party before training saw them. The batch-imitating split only imitates another "
           "batch (the same hospital and grading, patients numbered apart), and the recipe was chosen on such a "
           "split, so its numbers are somewhat optimistic; on the data set's own test batch (624 films of other "
           "patients, not used here) an earlier model of this recipe family lost a quarter of its normal "
           "recall. The out-of-distribution check says beside every prediction when an input is unlike its "
           "training films.",
)
_STANDARDISED = " Its first layer standardises each film (zero mean, unit standard deviation), a layer without weights."

RECIPES.register(Recipe(
    id="lung_xray-resnet-real", title="compact ResNet for real pediatric chest radiographs: normal vs pneumonia",
    architecture="compact_resnet", arch={**RECIPES["lung_xray-resnet-compact"].arch, "standardize": True},
    target_layer="layer4", feature_layers=STAGES,
    model_text=RECIPES["lung_xray-resnet-compact"].model_text + " The same network as "
               "`lung_xray-resnet-compact`, trained from scratch on real films instead of phantoms." + _STANDARDISED,
    **_REAL))

_DENSENET = RECIPES["lung_xray-densenet121-compact"]
RECIPES.register(Recipe(
    id="lung_xray-densenet-real",
    title="compact DenseNet-121 for real pediatric chest radiographs: normal vs pneumonia",
    architecture="compact_densenet", arch={**_DENSENET.arch, "standardize": True},
    target_layer="features",
    # the transitions, not the dense blocks: half the channels, a quarter of the OOD covariance's megabytes
    feature_layers=("features.pool0", "features.transition1", "features.transition2", "features.transition3",
                    "features.norm5"),
    model_text=_DENSENET.model_text + " The same network as `lung_xray-densenet121-compact`, trained from scratch "
               "on real films instead of phantoms, so the Comparison grid can set two families side by side on a "
               "real film." + _STANDARDISED,
    **_REAL))

RECIPES.register(Recipe(
    id="iqa_segmentation-deeplabv3plus-compact", task="iqa_segmentation", labels=foreign_objects.LABELS,
    title="compact DeepLabV3+ for foreign objects on synthetic chest X-ray phantoms",
    output_kind="segmentation", foreground=foreign_objects.OBJECT_CLASSES, spec=LUNG_SPEC,
    architecture="deeplabv3plus",
    arch={"in_channels": 1, "num_classes": 4, "encoder": "tu-mobilenetv2_050", "decoder_channels": 64},
    make_dataset=foreign_objects.make_dataset, augment="lr_flip", target_layer="decoder.block2",
    feature_layers=("encoder.model.bn1", "encoder.model.blocks.1", "encoder.model.blocks.2",
                    "encoder.model.blocks.4", "encoder.model.blocks.6"),
    n_train=3000, n_val=200, epochs=10, batch_size=16, lr=3e-3, case_word="phantoms",
    tags="chest-x-ray, image-quality, foreign-objects", notebook="training_notebooks/train_iqa_segmentation.ipynb",
    model_text="DeepLabV3+ from segmentation_models_pytorch (`encoder_weights=None`: random initialisation, "
               "nothing downloaded): atrous spatial pyramid pooling on the encoder's stride-16 features, fused "
               "with its stride-4 features, upsampled 4x. Compact: the encoder is timm's MobileNetV2 at half "
               "width (`tu-mobilenetv2_050`) and the decoder has 64 channels instead of 256.",
    disclaimer="It was trained only on synthetic phantoms made by `workbench/data/foreign_objects.py`; it has "
               "never seen a real radiograph. It exists so that explanations of a segmentation can be checked "
               "against object masks known by construction.",
    data_text="the chest anatomy of the lung phantoms with 0-4 radio-opaque foreign objects (a fifth of the "
              "phantoms have none): buttons, coins, ECG electrodes with leads, bead chains, clips and a "
              "pacemaker-like box with its lead, drawn before the blur and noise. Pixel classes: objects over "
              "the lung fields, objects elsewhere, the uncovered lung fields, background; the quality score "
              "(percent of the lung fields left uncovered) follows from them.",
    limits="Synthetic anatomy and objects only. Real films will be segmented, but the output means nothing "
           "clinically; the out-of-distribution check says so beside every prediction.",
))

# Audio deepfake detection: Keras on TensorFlow, 4 s windows as 256-band log-mel spectrograms. A vocoder
# spoof keeps its source's mel spectrogram (64-128 bands) by construction; 256 bands over a 2048-point FFT
# resolve the harmonics it smears (up to about 4 kHz), which a 128-band front end cannot see.
AUDIO_SPEC = InputSpec(256, 251, 1, (0.5,), (0.25,), SignalSpec(sample_rate=speech.RATE, seconds=speech.SECONDS,
                                                           n_fft=2048, n_mels=256))
_AUDIO = dict(
    task="audio_deepfake", labels=speech.LABELS, spec=AUDIO_SPEC, framework="keras",
    make_dataset=functools.partial(speech.make_dataset, spec=AUDIO_SPEC), augment="none",
    step_scores={"layer": FRAME_LAYER, "positive": speech.LABELS[1]},  # frame_targets: 1 = spoofed
    n_train=6000, n_val=400, epochs=8, batch_size=32, lr=2e-3, case_word="windows",
    tags="audio-deepfake, anti-spoofing", notebook="training_notebooks/train_audio_deepfake.ipynb",
    disclaimer="Its bona fide class is real read speech: 175 LibriSpeech speakers (English audiobooks, CC BY 4.0) "
               "and 10 Common Voice clips (two per language in English, French, German, Mandarin and Spanish, "
               "CC0). Its spoofs are made here (`workbench/data/speech.py`, `spoof_engines.py`) by seven engine "
               "families: espeak-ng, flite, Festival (diphone and HTS), one neural voice (piper's VITS "
               "en_US-joe-medium), Griffin-Lim and WORLD re-synthesis, and partial splices. Today's voice clones "
               "use many neural voices and vocoders it has never heard; a verdict on such audio is a classroom "
               "demonstration, not evidence.",
    data_text="half bona fide windows (65% LibriSpeech, 35% Common Voice), half spoofs rotating through espeak-ng "
              "(39 voice variants x 5 languages), flite (voices kal, awb, rms), Festival's kal diphone and slt HTS "
              "voices (duration stretch 0.8-1.2), piper's neural voice (six length and noise settings; twice as "
              "often), Griffin-Lim (six settings) and WORLD (dio F0, pitch x0.92-1.15) re-synthesis of the "
              "recordings, and partial spoofs (a 1-2 s span of a recording replaced by its re-synthesis, with "
              "10 ms cross-fades; twice as often). Text-to-speech reads 24 English sentences of its own. Every "
              "window, whatever its class, goes through the same random recording chain (`workbench/data/"
              "augment.py`): speed 0.85-1.18, a random crop (a quarter shorter than 4 s, zero-padded), a room "
              "(synthetic reverb, RT60 0.1-0.5 s, 30%), a spectral tilt, a 40-300 Hz high-pass (50%), a 4-7.9 kHz "
              "low-pass (30%) or a telephone band (12%), a sample-rate round trip through 8-48 kHz (40%), a peak "
              "level, white or low-frequency noise at 15-50 dB SNR, and an MP3 (32-192 kbit/s, 30%) or Ogg Vorbis "
              "(15%) round trip. Each vocoded or spliced window has its real twin (the same crop and chain) among "
              "the bona fide windows, so the re-synthesis is the only difference to learn.",
    limits="Targets missed (docs/models.md says by how much): bona fide windows of held-out speakers below 0.95 "
           "(Mandarin about 0.5, from two training recordings); flite's and WORLD's held-out voices and settings "
           "below 0.95; one 1-3 s splice in a long recording is rarely caught; an engine left out of training is "
           "caught on 0.06-0.88 of its windows (an unseen vocoder 0.06-0.16; 0.41 for the neural voice, target "
           "0.8). One neural voice is far too few: a different neural engine is the case the 'left out of "
           "training' column measures. Real recordings will be scored, but a verdict is a classroom "
           "demonstration, not evidence; the out-of-distribution check says when a recording is unlike the "
           "training windows. No real recording here is 30 s long: the long recordings that calibrate the clip "
           "rule are held-out utterances read one after another, several speakers to a clip.",
)

_HEAD_TEXT = ("The head scores every time step (the last map averaged over frequency, one linear score per "
              "step) and the logits are a linear function of the scores' mean and maximum, so a spoofed second "
              "is not averaged away; training fits the step scores to the known spoofed span too. The input "
              "has 256 mel bands over a 2048-point FFT, finer than the mel spectrogram any vocoder here "
              "re-synthesises from (64 to 128 bands): with 128 bands held-out balanced accuracy was 0.84-0.91.")

RECIPES.register(Recipe(
    id="audio_deepfake-vgg16-compact", title="compact VGG16 for spoofed-speech detection on log-mel spectrograms",
    architecture="keras_compact_vgg16", arch={"widths": [12, 24, 32, 48, 64], "convs": [2, 2, 3, 3, 3],
                                              "first_stride": 2},
    target_layer="block5_conv3",
    feature_layers=("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"),
    model_text="A compact VGG16 (Keras, our `keras_compact_vgg16`) that keeps VGG16's plain stack: five blocks "
               "of 2, 2, 3, 3 and 3 3x3 convolutions with 2x2 max pooling between them. Reduced: widths "
               "12/24/32/48/64 instead of 64/128/256/512/512, batch norm after each convolution, and the "
               "time-step head (below) instead of the three fully connected layers. Its first convolution strides "
               "2 and the last pool is dropped, so `block5_conv3` is still 16x15 (mel x time) for the 256x251 "
               "input at a quarter of the cost: at full resolution an epoch took 2.4 times the ResNet's, and on "
               "the 3,000 windows that allowed it did not learn (validation 0.55 after 4 epochs). Trained on "
               "8,000 windows for 6 epochs. " + _HEAD_TEXT,
    **{**_AUDIO, "n_train": 8000, "epochs": 6}))

RECIPES.register(Recipe(
    id="audio_deepfake-mobilenetv2-compact",
    title="compact MobileNetV2 for spoofed-speech detection on log-mel spectrograms",
    architecture="keras_compact_mobilenetv2",
    arch={"stem": 16, "stages": [[1, 12, 1, 2], [6, 16, 2, 2], [6, 24, 2, 2], [6, 32, 2, 1], [6, 48, 1, 1]],
          "last_channel": 160},
    target_layer="out_relu",
    feature_layers=("stem_relu", "block2_depthwise_relu", "block4_depthwise_relu", "block6_depthwise_relu",
                    "out_relu"),
    model_text="A compact MobileNetV2 (Keras, our `keras_compact_mobilenetv2`) with MobileNetV2's inverted "
               "residual blocks: a 1x1 expansion by 6, a 3x3 depthwise convolution, a linear 1x1 projection, "
               "ReLU6 and identity shortcuts. Reduced: 8 blocks in 5 stages (widths 12/16/24/32/48) instead of "
               "17 blocks in 7 stages (16 to 320) and a 160- instead of 1280-channel head. The first block "
               "downsamples (stride 2) and the fourth stage does not, so the 6x expansions run at a quarter of "
               "the resolution (3.7 times faster to train here, the same output grid); `out_relu` is 16x16 "
               "(mel x time) for the 256x251 input. Its speed affords more data within 20 minutes: 8,000 "
               "windows for 10 epochs (ResNet: 4,000 for 6; VGG16: 8,000 for 6). " + _HEAD_TEXT,
    **{**_AUDIO, "n_train": 8000, "epochs": 10}))

RECIPES.register(Recipe(
    id="audio_deepfake-resnet-compact", title="compact ResNet for spoofed-speech detection on log-mel spectrograms",
    architecture="keras_compact_resnet", arch={"widths": [16, 32, 64, 96], "blocks": [1, 1, 1, 1],
                                               "strides": [1, 2, 2, 2]},
    target_layer="layer4", feature_layers=("stem", "layer1", "layer2", "layer3", "layer4"),
    model_text="A compact ResNet (Keras, our `keras_compact_resnet`): ResNet's basic blocks (two 3x3 "
               "convolutions with an identity or 1x1 projection shortcut) in four stages with strides 1/2/2/2, "
               "after a 3x3 stride-2 stem. Reduced: one block per stage (ResNet-18 has two), widths 16/32/64/96 "
               "instead of 64/128/256/512; `layer4` is 16x16 (mel x time) for the 256x251 input. Trained on 4,000 "
               "windows for 6 epochs. " + _HEAD_TEXT,
    **{**_AUDIO, "n_train": 4000, "epochs": 6}))
