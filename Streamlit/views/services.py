"""The app's caches: models are shared resources, explanations are content-addressed data."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import streamlit as st

from inference import ModelAdapter, Target, load_model
from xai_models import METHODS, Explanation

COMPUTED = {"explanations": 0}  # how many explanations were computed, not served from the cache


@st.cache_resource(show_spinner="Loading model…", max_entries=8)
def get_model(model_id: str, revision: str | None) -> ModelAdapter:
    """One adapter per model and revision, shared by every session (the adapter holds a lock)."""
    return load_model(model_id, revision)


def input_hash(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]


@st.cache_data(show_spinner=False, max_entries=512)
def get_explanation(model_id: str, revision: str | None, model_key: str, x_hash: str, _x: np.ndarray,
                    method_id: str, params_json: str, seed: int, class_index: int) -> Explanation:
    """Keyed by (model revision, input hash, method, parameters, seed, target): a rerun with the
    same request is served from the cache instead of recomputed."""
    COMPUTED["explanations"] += 1
    model = get_model(model_id, revision)
    return METHODS[method_id].explain(model, _x, Target(class_index), json.loads(params_json), seed)
