"""The app's caches: models are shared resources; predictions and explanations are content-addressed."""

from __future__ import annotations

import numpy as np
import streamlit as st

from workbench.data import generated_cases
from workbench.methods import Explanation
from workbench.models import ModelAdapter, Prediction, Target, load_model, predict
from workbench.service import ExplainRequest, WindowScores, explain, prepare_input
from workbench.tasks import TASKS, GroundTruth

COMPUTED = {"explanations": 0, "predictions": 0}  # computed, not served from a cache


@st.cache_resource(show_spinner="Loading model…", max_entries=8)
def get_model(model_id: str, revision: str | None) -> ModelAdapter:
    """One adapter per model and revision, shared by every session (the adapter holds a lock)."""
    return load_model(model_id, revision)


@st.cache_data(show_spinner=False, max_entries=256)
def get_prediction(model_id: str, revision: str | None, model_key: str, x_hash: str, _x: np.ndarray) -> Prediction:
    """Keyed by (model revision, input hash): a widget change does not run the model again."""
    COMPUTED["predictions"] += 1
    return predict(get_model(model_id, revision), _x)


@st.cache_data(show_spinner="Generating the case…", max_entries=16)
def get_case(task_id: str, name: str) -> tuple[np.ndarray, GroundTruth | None]:
    """A generated case's input and truth, made once per (task, case)."""
    return next(c for c in generated_cases(task_id) if c.name == name).make()


@st.cache_data(show_spinner="Scoring the input…", max_entries=64)
def get_prepared(model_id: str, revision: str | None, model_key: str, task_id: str, clip_hash: str,
                 _clip: np.ndarray) -> tuple[np.ndarray, np.ndarray, WindowScores | None]:
    """The model input (and, for audio, every window's scores with the deciding window cut out), keyed
    by (model revision, task, input hash): a long clip is scored once, not on every widget change."""
    return prepare_input(TASKS[task_id], get_model(model_id, revision), _clip)


@st.cache_data(show_spinner=False, max_entries=512)
def get_explanation(model_id: str, revision: str | None, request_key: str, _request: ExplainRequest,
                    _x: np.ndarray, _target: Target) -> Explanation:
    """Keyed by the request (model revision, input hash, method, parameters, seed, target with its
    region hash): the same request is served from the cache instead of recomputed."""
    COMPUTED["explanations"] += 1
    return explain(get_model(model_id, revision), _x, _request, _target)
