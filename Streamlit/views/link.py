"""A link to this view: the sidebar's choices in the URL's query string.

When a session opens, the query string is read once: each sidebar widget takes its value from it before the widget
is drawn, checked against the widget's own options (a value it does not offer is left out with a one-line note,
never an error page). After every run the URL is rewritten from the choices, so the address bar, and the link the
sidebar offers, open the same view: `task`, `model`, `compare`, `sample` (sample inputs only; an upload is never
in a URL), `methods`, `seed`, each method's non-default settings as `METHOD.NAME=VALUE`, and `run=1` to run at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import streamlit as st

from workbench.methods import METHODS, Param
from workbench.models import ModelAdapter
from workbench.tasks import Task

PENDING, NOTES = "link:pending", "link:notes"  # session state: the query string not yet applied, what was ignored
LAYER_KINDS = ("layer", "layers")  # a model's own layer names: not in a link (another model has others)


def read_once() -> None:
    """The query string as this session opened it, to apply as the widgets are drawn (first run only)."""
    if PENDING not in st.session_state:
        st.session_state[PENDING] = {k: st.query_params[k] for k in st.query_params}
        st.session_state[NOTES] = []


def take(name: str) -> str | None:
    """The link's value for `name`, once: None when the link has none (or it was taken)."""
    value = st.session_state.get(PENDING, {}).pop(name, None)
    return value.strip() if value else None


def note(text: str) -> None:
    st.session_state.setdefault(NOTES, []).append(text)


def choose(key: str, name: str, options: Sequence) -> None:
    """Put the link's `name` into the widget `key` if it is one of the widget's options."""
    value = take(name)
    if value is None:
        return
    if value in options:
        st.session_state[key] = value
    else:
        note(f"{name}={value} is not offered here")


def choose_many(key: str, name: str, options: Sequence) -> None:
    """A comma list into a multiselect: the values it offers, in the link's order; the others noted."""
    value = take(name)
    if value is None:
        return
    wanted = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in wanted if v not in options]
    if unknown:
        note(f"{name}: {', '.join(unknown)} not offered here")
    st.session_state[key] = [v for v in dict.fromkeys(wanted) if v in options]


def choose_number(key: str, name: str, low: int, high: int) -> None:
    value = take(name)
    if value is None:
        return
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        note(f"{name}={value} is not a whole number from {low} to {high}")
    else:
        st.session_state[key] = number


def choose_param(key: str, method_id: str, p: Param) -> None:
    """A method's setting `METHOD.NAME=VALUE`, parsed as the parameter's kind and checked against its range."""
    name = f"{method_id}.{p.name}"
    value = take(name)
    if value is None:
        return
    try:
        parsed = parse_value(p, value)
    except ValueError as err:
        note(f"{name}={value}: {err}")
    else:
        st.session_state[key] = parsed


def parse_value(p: Param, value: str) -> object:
    """A setting's text as its parameter's kind; ValueError says why it is not one of its values."""
    if p.kind in LAYER_KINDS:
        raise ValueError("layer names are a model's own, not part of a link")
    if p.kind == "choice":
        if value not in p.choices:
            raise ValueError(f"not one of {', '.join(map(str, p.choices))}")
        return value
    if p.kind == "bool":
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError("not true or false")
        return value.lower() in ("true", "1")
    number = int(value) if p.kind == "int" else float(value)  # ValueError when not a number
    if not p.min <= number <= p.max:
        raise ValueError(f"outside {p.min:g} to {p.max:g}")
    return number


def show_notes() -> None:
    """What the link asked for that this server does not offer, in one line, once; then anything left unread."""
    leftover = st.session_state.get(PENDING, {})
    notes = [*st.session_state.get(NOTES, []), *(f"{k} is not a choice here" for k in leftover if k != "run")]
    st.session_state[PENDING], st.session_state[NOTES] = {}, []
    if notes:
        st.info("Parts of the link were left out: " + "; ".join(notes) + ".")


def view_query(choices: dict[str, str]) -> str:
    """The query string of a view (empty values left out)."""
    return urlencode({k: v for k, v in choices.items() if v not in ("", None)}, safe=",")


def choices(task: Task, model: ModelAdapter, compare: tuple[str, ...], methods: list[tuple[str, dict]],
            seed: int) -> dict[str, str]:
    """The view as a link's query values: a bundled model, a sample (never an upload), and only the settings
    that differ from their defaults (a model's layer names left out)."""
    sample = st.session_state.get(f"sample:{task.id}") if st.session_state.get(f"input:{task.id}") == \
        "Sample file" else None
    out = {"task": task.id, "model": model.info.id if model.info.source != "hub" else None,
           "compare": ",".join(compare), "sample": sample, "methods": ",".join(m for m, _ in methods),
           "seed": str(seed) if seed else None}
    for method_id, params in methods:
        for p in METHODS[method_id].params(model):
            if p.kind not in LAYER_KINDS and params.get(p.name, p.default) != p.default:
                out[f"{method_id}.{p.name}"] = str(params[p.name])
    return out


def write(choices: dict[str, str]) -> None:
    """The address bar follows the choices, so a reload or a copied address opens the same view."""
    wanted = {k: v for k, v in choices.items() if v not in ("", None)}
    if {k: st.query_params[k] for k in st.query_params} != wanted:
        st.query_params.from_dict(wanted)


def offer(choices: dict[str, str]) -> None:
    """The sidebar's "Copy a link to this view": the address with these choices (and run=1), copied by the code
    block's button."""
    base = (st.context.url or "").split("?")[0]
    base = base if not base or base.endswith("/") else f"{base}/"
    with st.sidebar.popover("Copy a link to this view", width="stretch"):
        st.caption("Opens this task, model, sample, methods and settings, and runs them. An upload is not in a link.")
        st.code(f"{base}?{view_query({**choices, 'run': '1'})}", language=None, wrap_lines=True)
