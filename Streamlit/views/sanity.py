"""The choice of sanity check, one widget for the comparison grid and the evaluation tab: the registry's checks
(`workbench.metrics.sanity.SANITY_CHECKS`) by name, the cascading one first, each one's rule in the help."""

from __future__ import annotations

from streamlit.delta_generator import DeltaGenerator

from workbench.metrics.sanity import DEFAULT_CHECK, SANITY_CHECKS


def sanity_choice(place: DeltaGenerator, key: str) -> str:
    """The id of the sanity check chosen in `place` (default: the cascading check)."""
    ids = SANITY_CHECKS.ids()
    rules = " ".join(f"**{c.name}**: {c.what_it_measures} Passes when {c.passes_when}. Costs {c.cost} of the method."
                     for c in SANITY_CHECKS.values())
    return place.selectbox("Which randomisation check", ids, index=ids.index(DEFAULT_CHECK), key=key,
                           format_func=lambda i: SANITY_CHECKS[i].name, help=rules)
