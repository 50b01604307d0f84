"""Where the repository's bundled models and sample files live (the package sits in the repo root)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "models"
SAMPLES_DIR = ROOT / "sample_files"
