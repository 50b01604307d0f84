"""Model performance tab: the model's held-out numbers measured again on request, beside those in its card."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from views.caches import get_performance
from views.sidebar import Selection
from workbench.errors import user_message
from workbench.models import ModelInfo
from workbench.render import confusion_table
from workbench.settings import server_settings
from workbench.training.performance import CARD_SECTION, card_section, has_recipe

# Seconds on two cores (measured: 1 to 8 s for the lung models, the EfficientNet slowest; 24 windows 6 s).
DEFAULT_N = {"lung_xray": 60, "histopathology": 45, "iqa_segmentation": 20, "audio_deepfake": 24}
ASKED = "performance:asked"  # model key -> the N last asked for: later reruns show it again, from the cache
SEGMENTATION = (("dice", "Dice ↑", ""), ("boundary_iou", "Boundary IoU ↑", ""), ("assd", "ASSD ↓", " px"),
                ("hd95", "HD95 ↓", " px"))


def render(sel: Selection) -> None:
    measured, card = st.columns(2)
    with measured:
        st.subheader("Measured now")
        _measured(sel)
    with card:
        st.subheader("In the model card")
        _card(sel.model.info)


def _measured(sel: Selection) -> None:
    info = sel.model.info
    if not has_recipe(info):
        st.info(f"`{info.id}` is not a bundled model: the data it was trained on is unknown here, so there is no "
                "held-out set to measure it on. Available: its card (beside this, when it has one), its "
                "predictions and explanations in the other tabs, and the Evaluation tab, which scores "
                "explanations on the task's generated cases.")
        return
    asked = st.session_state.setdefault(ASKED, {})
    n = int(st.number_input("Held-out cases (N)", 1, server_settings().max_cases, DEFAULT_N.get(info.task, 40),
                            key=f"performance:n:{sel.model.key}",
                            help="Made by the generator of the model's training data, as the card's were (split "
                                 "test, seed 0), and never trained on."))
    if st.button("Evaluate on held-out data", key="performance:run"):
        asked[sel.model.key] = n
    if sel.model.key not in asked:
        st.caption("Runs the model on N held-out cases and scores its answers against their known truth; the "
                   "result is kept for this model revision and N.")
        return
    try:
        report = get_performance(sel.model_id, sel.revision, sel.model.key, asked[sel.model.key])
    except Exception as err:  # noqa: BLE001 - missing data, a damaged file or a library failing: one message
        st.error(f"Cannot evaluate the model here: {user_message(err)}")
        return
    st.caption(f"{report['n']} held-out cases (split `{report['split']}`, seed {report['seed']}).")
    if "per_class" in report:
        _classification(report, info.labels)
        if "batch" in report:  # real films: the patients held out together to imitate a new batch
            batch = report["batch"]
            st.markdown(f"**The batch-imitating split**: {batch['n']} films of patients held out together "
                        "(split `batch`; the card says which).")
            _classification(batch, info.labels)
    else:
        _segmentation(report)


def _classification(report: dict, labels: tuple[str, ...]) -> None:
    columns = st.columns(4 if "roc_auc" in report else 2)
    columns[0].metric("Accuracy", f"{report['accuracy']:.3f}")
    columns[1].metric("Balanced accuracy", f"{report['balanced_accuracy']:.3f}",
                      help="The mean of the per-class recalls, each case labelled at the model's operating point.")
    if "roc_auc" in report:
        columns[2].metric("ROC AUC", f"{report['roc_auc']:.3f}", help="The chance that a random case of the second "
                          "class scores above a random case of the first: independent of the operating point.")
        columns[3].metric("ECE", f"{report['ece']:.3f}", help="Expected calibration error (15 bins): how far the "
                          f"probabilities are from the accuracy they claim ({report['ece_before_temperature']:.3f} "
                          "before the model's temperature).")
    st.dataframe(pd.DataFrame([{"class": label, **scores} for label, scores in report["per_class"].items()]),
                 hide_index=True, column_config={
                     "recall": st.column_config.NumberColumn("recall (class accuracy)", format="%.3f",
                                                             help="The share of the class's cases called this class."),
                     "specificity": st.column_config.NumberColumn(
                         "specificity", format="%.3f", help="The share of the other classes' cases not called this "
                         "class."),
                     **{k: st.column_config.NumberColumn(k, format="%.3f") for k in ("precision", "f1")}})
    st.markdown("**Confusion matrix** (rows: the true class; shade: the share of the row)")
    st.dataframe(confusion_table(report["confusion"], labels))
    extras = {"stress_tests": "Accuracy on the same cases, changed on purpose",
              "detection_rate": "Called right, per kind of window"}
    for key, title in extras.items():
        if key in report:
            st.markdown(f"**{title}**")
            _pairs(report[key], "", "share")


def _segmentation(report: dict) -> None:
    for column, (key, name, unit) in zip(st.columns(len(SEGMENTATION)), SEGMENTATION):
        column.metric(name, f"{report[key]:.3f}{unit}")
    st.caption(f"Of the foreground classes together, per image and averaged over the {report['n_with_objects']} "
               f"images with objects; Dice pooled over all pixels {report['pooled_dice']:.3f}. Images where a "
               f"distance is undefined (objects in only one of truth and prediction): "
               f"{report['undefined_distance_images']}.")
    _pairs(report["per_class_dice"], "class", "Dice")
    if report.get("read_outs"):
        _pairs(report["read_outs"], "read-out", "value")


def _pairs(values: dict, name: str, value: str) -> None:
    st.dataframe(pd.DataFrame({name: list(values), value: list(values.values())}), hide_index=True)


def _card(info: ModelInfo) -> None:
    if not info.card:
        st.info("This model has no card (README.md), so there are no numbers to compare with.")
        return
    section = card_section(info.card)
    if section is None:
        st.caption(f"The card has no '{CARD_SECTION}' section.")
    else:
        st.markdown(section)
    with st.expander("The whole model card"):
        st.markdown(info.card)
