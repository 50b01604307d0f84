"""Where the repository's bundled models and sample files live (the package sits in the repo root)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "models"
SAMPLES_DIR = ROOT / "sample_files"
# Real CC0 speech for the audio task's bona fide class: read from beside the checkout, never copied.
SPEECH_DIR = Path(os.environ.get("WORKBENCH_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech_bonafide"))
# Real read speech of 251 LibriSpeech speakers (CC BY 4.0), bona fide speech split by speaker; read in place.
LIBRISPEECH_DIR = Path(os.environ.get("WORKBENCH_LIBRISPEECH_DIR",
                                      ROOT.parent / "shared" / "data" / "speech_librispeech"))
# Real pediatric chest radiographs (Kermany et al. 2018, CC BY 4.0), read in place and never copied.
XRAY_DIR = Path(os.environ.get("WORKBENCH_XRAY_DIR", ROOT.parent / "shared" / "data" / "chest_xray_pneumonia"))


def photo_files(names: tuple[str, ...]) -> list[Path]:
    """Photographs scikit-image ships in its package (public domain or CC0, see its data README), read where
    they are installed: everyday pictures for a generic classifier. Missing ones are skipped."""
    import importlib.util

    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return [folder / n for n in names if (folder / n).is_file()]
