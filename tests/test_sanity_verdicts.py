"""The evaluation's sanity check against two hand-made models whose answer is known before anything runs.

- `input-bound`: the score is a learned multiple of the input's energy (mean of x²). Its gradient is that multiple
  times 2x: the saliency map is |x| whatever the weight, so randomising the weight leaves the map as it was, and a
  sanity check must FAIL the method on it.
- `template`: the score is a learned linear template (a blob) dotted with the input. Its gradient is the template:
  randomised, the map becomes noise, and the check must PASS the method on it.

Both are saved as model folders (their architectures registered here) and go through the same paths as any model:
the library's `sanity_verdicts`, `xai_models.py evaluate --sanity` and the app's Evaluation tab (AppTest). The
comparison with Quantus is in test_sanity_references.py; this file is about the verdict itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import xai_models
from workbench.evaluation.batch import prepare, sanity_verdicts
from workbench.evaluation.cases import generated
from workbench.methods import METHODS
from workbench.metrics.sanity import SANITY_CHECKS, model_randomisation
from workbench.models import load_model
from workbench.models.nets import ARCHITECTURES

from .test_app import new_app, tab
from .test_evaluation_app import click, shown_table, widget

SIZE = 32
EXPECTED = {"input-bound": False, "template": True}  # the sanity verdict each model must get


class InputBound(nn.Module):
    """Logits = a learned linear read-out of the input's energy: its gradient is proportional to the input."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head((x ** 2).flatten(1).mean(1, keepdim=True))


class Template(nn.Module):
    """Logits = a learned template dotted with the input: its gradient is the template."""

    def __init__(self, size: int = SIZE) -> None:
        super().__init__()
        self.head = nn.Linear(size * size, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.flatten(1))


def blob(size: int = SIZE) -> torch.Tensor:
    """A smooth template: a Gaussian on the right lung field, where the phantoms' lesions lie."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return torch.exp(-((yy - size * 0.45) ** 2 + (xx - size * 0.7) ** 2) / (2 * (size / 6) ** 2))


def write_folder(folder: Path, architecture: str, module: nn.Module) -> Path:
    """A model folder as the bundled ones are: config.json, model.safetensors, a card."""
    folder.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({
        "framework": "pytorch", "architecture": architecture, "arch_params": {}, "task": "lung_xray",
        "labels": ["normal", "affected"], "input": {"height": SIZE, "width": SIZE, "channels": 1, "mean": [0.5],
                                                    "std": [0.25]},
        "output": "logits", "output_kind": "classification", "target_layer": "head"}))
    (folder / "README.md").write_text(f"# {folder.name}\n\nMade by tests/test_sanity_verdicts.py; not a model.\n")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """The two models' folders by name, their architectures registered (once per process)."""
    for key, cls in (("handmade_input_bound", InputBound), ("handmade_template", Template)):
        if key not in ARCHITECTURES:
            ARCHITECTURES.register(cls, key=key)
    root = tmp_path_factory.mktemp("handmade")
    bound = InputBound()
    template = Template()
    with torch.no_grad():
        bound.head.weight.copy_(torch.tensor([[-1.0], [1.0]]))
        bound.head.bias.zero_()
        template.head.weight.copy_(torch.stack([-blob().flatten(), blob().flatten()]))
        template.head.bias.zero_()
    return {"input-bound": write_folder(root / "input-bound", "handmade_input_bound", bound),
            "template": write_folder(root / "template", "handmade_template", template)}


def test_the_input_bound_map_stays_and_the_template_map_turns_to_noise(folders):
    """Why the verdicts below are what they are: with every layer random, the input-bound model's saliency map
    ranks the pixels exactly as before (|Spearman| 1), the template model's keeps nothing of its template."""
    finals = {}
    for name, folder in folders.items():
        model = load_model(str(folder))
        ready = prepare(model, next(generated("lung_xray", 1, 0).cases()))
        e = METHODS["saliency"].explain(model, ready.x, ready.target, None, 0)
        finals[name] = model_randomisation(model, ready.x, e, seed=0)["final_abs_spearman"]
    assert finals["input-bound"] == pytest.approx(1.0, abs=1e-6)
    assert finals["template"] < 0.2


@pytest.mark.parametrize("check", SANITY_CHECKS.ids())
def test_every_check_fails_the_input_bound_model_and_passes_the_template(folders, check):
    """The function the CLI and the app both call, with each registered check."""
    models = [load_model(str(folders[name])) for name in EXPECTED]
    verdicts = sanity_verdicts(models, ["saliency"], generated("lung_xray", 1, 0), 0, check=check)
    assert verdicts == {(m.info.id, "saliency"): want for m, want in zip(models, EXPECTED.values())}


def test_the_cli_prints_fails_for_the_input_bound_model_and_passes_for_the_template(folders, tmp_path, capsys):
    """`xai_models.py evaluate --sanity`: the printed table's sanity column, and the JSON's, per model."""
    args = ["evaluate", "--task", "lung_xray", "--model", ",".join(str(folders[n]) for n in EXPECTED), "--methods",
            "saliency", "--n", "1", "--no-baselines", "--sanity", "--csv", str(tmp_path / "t.csv")]
    assert xai_models.main(args) == 0
    out = capsys.readouterr().out.splitlines()
    for name, passed in EXPECTED.items():
        header = out.index(f"{folders[name]} (mean [95% interval]; * best or not clearly worse)")
        assert out[header + 1].split()[-1] == "sanity"
        assert out[header + 2].split()[0] == "saliency"
        assert out[header + 2].split()[-1] == ("passes" if passed else "fails")
    assert xai_models.main([*args, "--json"]) == 0
    table = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {r["model"]: r["sanity"] for r in table} == {str(folders[n]): want for n, want in EXPECTED.items()}


@pytest.mark.parametrize("name", EXPECTED)
def test_the_evaluation_tab_shows_the_verdict_of_each_model(folders, name, server_env):
    """The model folder typed where a Hub repo id goes (a server that allows folders), the Evaluation tab with
    Saliency on one case and the sanity switch on: its table's sanity column is the expected verdict."""
    server_env(WORKBENCH_LOCAL_MODELS="1")
    at = new_app()
    next(r for r in at.sidebar.radio if r.label == "Model source").set_value("Hugging Face Hub").run()
    next(t for t in at.sidebar.text_input if t.label == "Hub repo id").input(str(folders[name])).run()
    assert not at.exception and not at.error
    ev = tab(at, "Evaluation")
    widget(ev, "multiselect", "Methods").set_value(["saliency"]).run()
    widget(tab(at, "Evaluation"), "checkbox", "With the trivial baselines").uncheck().run()
    widget(tab(at, "Evaluation"), "number_input", "Number of cases (N)").set_value(1).run()
    widget(tab(at, "Evaluation"), "checkbox", "Sanity check").check().run()
    click(at, "Run evaluation")
    (row,) = shown_table(at)
    assert (row["model"], row["method"]) == (str(folders[name]), "saliency")
    assert row["sanity"] in (True, False) and bool(row["sanity"]) is EXPECTED[name]
