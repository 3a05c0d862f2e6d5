"""What a new user hits first (issue 18 §7, issue 21's weak messages): each mistake gets a message that names it
and the fix, and the quick commands are quick."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest
import torch

import looc_hub
from looc_hub import LooCConfig, LooCModel
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"))


@pytest.fixture(scope="module")
def small_model() -> LooCModel:
    return trained_like(SMALL).eval()


def test_an_image_of_another_size_warns_once_naming_the_size_and_eval_transform(small_model):
    with pytest.warns(UserWarning, match=r"\(224, 224\) px, but this model works on 32 x 32.*eval_transform"):
        small_model.embed(torch.randn(2, 3, 224, 224))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small_model.embed(torch.randn(2, 3, 64, 64))  # once per model, not once per batch
        small_model.embed(torch.randn(2, 3, 32, 32))


def test_a_misspelt_space_gets_a_suggestion(small_model):
    with pytest.raises(ValueError, match=r"Unknown space\(s\) \['colour'\] \(did you mean 'color'\?\)"):
        small_model.embed(torch.randn(2, 3, 32, 32), space="colour")
    with pytest.raises(TypeError, match=r"space must be a str, got bytes b'color'"):
        small_model.embed(torch.randn(2, 3, 32, 32), space=b"color")
    with pytest.raises(ValueError) as error:
        small_model.embed(torch.randn(2, 3, 32, 32), space="x" * 10_000_000)
    assert len(str(error.value)) < 500  # named, not echoed whole


def test_validate_model_dir_takes_one_argument_as_documented(small_model, tmp_path):
    small_model.save_pretrained(tmp_path / "model")
    plan = looc_hub.validate_model_dir(tmp_path / "model")
    assert "model.safetensors" in plan.files


def test_a_missing_folder_under_an_existing_one_is_named_not_sent_to_the_hub(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs" / "typo_dir").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"No such model folder: outputs/typo-dir .*close: \['typo_dir'\]"):
        LooCModel.from_pretrained("outputs/typo-dir")


def test_looc_recipes_lists_names_without_torch_or_timm():
    code = "import sys, looc_hub.cli.recipes as r; r.main([]); print(sorted({'torch', 'timm'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=os.environ)
    assert result.returncode == 0, result.stderr
    assert "looc_r10t_openmoji32" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_huge_numbers_are_named_not_echoed():
    from looc_hub._checks import check_int

    with pytest.raises(ValueError, match=r"must be a positive integer, got <an integer of about 5000 digits>"):
        check_int("queue_size", -(10**5000))


def test_a_plot_without_matplotlib_names_the_extra_to_install(monkeypatch):
    from looc_hub.eval.plotting import pyplot

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "matplotlib.pyplot", raising=False)
    with pytest.raises(ImportError, match=r'needs matplotlib.*pip install "looc-hub\[eval\]"'):
        pyplot()
