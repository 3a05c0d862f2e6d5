"""Weak messages of issue 21's adversarial pass, each now an error that names the file, field or value: timm's
refusal of backbone_kwargs, JSON that Python's reader chokes on, huge values, zero-size images, a space given as
bytes, and a `--push_to_hub` target that cannot take the push (said before training)."""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
import torch
from huggingface_hub import CommitOperationAdd, constants
from PIL import Image

import looc_hub
from looc_hub import LooCConfig, LooCModel
from looc_hub._atomic import FileExistsNotOursError
from looc_hub.cli.pretrain import main as pretrain_main
from looc_hub.data import CanvasCollate, UnreadableImageError
from looc_hub.embeddings.manifest import read_manifest
from looc_hub.eval.results import load_results
from looc_hub.hub.upload import check_repo_id
from tests.models import trained_like
from tests.pretrain_runs import DEMO_RECIPE, TINY

SMALL = LooCConfig(backbone="resnet10t", image_size=32, augmentations=("color",))
HUGE = "x" * 1_000_000  # what a careless edit or a generated file puts in a field (the pass used 60 MB)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("saved") / "model"
    trained_like(SMALL).save_pretrained(directory)
    return directory


def _edited_copy(saved: Path, target: Path, **fields) -> Path:
    shutil.copytree(saved, target)
    config = json.loads((target / "config.json").read_text())
    config.update(fields)
    (target / "config.json").write_text(json.dumps(config))
    return target


def test_timm_refusing_backbone_kwargs_names_the_file_the_field_and_the_reason(saved, tmp_path):
    edited = _edited_copy(saved, tmp_path / "m", backbone_kwargs={"nonsense": 1}, model_args={"nonsense": 1})
    with pytest.raises(ValueError) as error:
        LooCModel.from_pretrained(edited)
    assert str(error.value) == (
        f"{edited}: config.json: backbone_kwargs {{'nonsense': 1}} are not accepted by timm's resnet10t: "
        "ResNet.__init__() got an unexpected keyword argument 'nonsense'"
    )
    wrong_type = {"drop_path_rate": [0.1]}
    with pytest.raises(ValueError, match=r"backbone_kwargs \{'drop_path_rate': \[0\.1\]\} are not accepted by timm"):
        LooCModel(LooCConfig(backbone="resnet10t", backbone_kwargs=wrong_type))


_UNREADABLE_JSON = {
    "nested": ("[" * 100_000 + "]" * 100_000, "nests JSON lists or objects too deeply"),
    "huge number": ('{"steps": ' + "9" * 5000 + "}", "holds a number of more than 4300 digits"),
}


@pytest.mark.parametrize("kind", list(_UNREADABLE_JSON))
def test_json_python_cannot_read_is_named_in_every_file_looc_hub_reads(saved, tmp_path, kind):
    content, reason = _UNREADABLE_JSON[kind]
    model = _edited_copy(saved, tmp_path / "model")
    (model / "config.json").write_text(content)
    with pytest.raises(ValueError, match=rf"{model}: config\.json {reason}"):
        LooCModel.from_pretrained(model)
    with pytest.raises(FileExistsNotOursError, match="holds files looc-hub did not write"):
        trained_like(SMALL).save_pretrained(model)  # not a looc-hub folder any more: refused, not a crash
    (tmp_path / "results.json").write_text(content)
    with pytest.raises(ValueError, match=rf"{tmp_path / 'results.json'} {reason}"):
        load_results(tmp_path / "results.json")
    (tmp_path / "embeddings.json").write_text(content)
    with pytest.raises(ValueError, match=rf"{tmp_path / 'embeddings.json'} {reason}"):
        read_manifest(tmp_path)


def test_a_results_file_or_manifest_of_the_wrong_shape_or_size_is_named_briefly(tmp_path):
    (tmp_path / "embeddings.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"embeddings\.json is not a looc-hub embeddings manifest \(a JSON list"):
        read_manifest(tmp_path)
    (tmp_path / "embeddings.json").write_text(json.dumps({"format": HUGE}))
    with pytest.raises(ValueError, match="is not a looc-hub embeddings manifest") as error:
        read_manifest(tmp_path)
    assert len(str(error.value)) < 500
    rest = {"schema_version": 1, "looc_hub_version": "0", "created": "0", "model": {}, "results": [], "artifacts": {}}
    (tmp_path / "results.json").write_text(json.dumps({"schema": HUGE, **rest}))
    with pytest.raises(ValueError, match="results.json: not a valid looc-hub results file: schema must be") as error:
        load_results(tmp_path / "results.json")
    assert len(str(error.value)) < 800


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"backbone": HUGE, "architecture": HUGE}, "Unknown timm architecture"),
        ({"variant": HUGE}, "Unknown variant"),
        ({"interpolation": HUGE}, "Unknown interpolation"),
        ({"crop_pct": HUGE}, "crop_pct must be in"),
        ({"mean": [HUGE] * 3}, "mean must hold 3 numbers"),
        ({"augmentations": [HUGE]}, "Unknown augmentations"),
        ({"looc_format_version": HUGE}, "uses looc format version"),
        ({"architecture": HUGE}, "timm's keys disagree"),
        ({"backbone_kwargs": {HUGE: 1}, "model_args": {HUGE: 1}}, "are not accepted by timm's resnet10t"),
    ],
)
def test_a_huge_value_in_config_json_is_named_not_echoed(saved, tmp_path, fields, named):
    edited = _edited_copy(saved, tmp_path / "m", **fields)
    with pytest.raises(ValueError) as error:
        LooCModel.from_pretrained(edited)
    message = str(error.value)
    assert named in message and str(edited) in message
    assert len(message) < 1500, len(message)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares `width` x `height` (Pillow itself refuses to write a zero-size one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * height))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("size", [(0, 0), (0, 5), (5, 0)])
def test_a_zero_size_image_is_named(tmp_path, size):
    collate = CanvasCollate(16)
    path = tmp_path / f"empty_{size[0]}x{size[1]}.png"
    path.write_bytes(_png_header_only(*size))
    with pytest.raises(UnreadableImageError, match=rf"Cannot read image {path}"):
        collate([{"image": {"bytes": None, "path": str(path)}}])
    decoded = Image.new("RGB", size)  # a dataset of decoded images: once a silent blank canvas
    with pytest.raises(UnreadableImageError, match=rf"\(a decoded RGB image, {size[0]}x{size[1]}\).*no pixels"):
        collate([{"image": decoded}])
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    assert collate([{"image": {"bytes": buffer.getvalue(), "path": None}}])["images"].shape == (1, 3, 16, 16)


def test_a_space_given_as_bytes_is_a_type_error_listing_the_valid_spaces():
    model = trained_like(SMALL)
    with pytest.raises(TypeError) as error:
        model.embed(torch.rand(1, 3, 32, 32), space=b"color")
    assert str(error.value) == (
        "space must be a str, got bytes b'color'; valid spaces: ['backbone', 'invariant', 'color', 'concat']"
    )


def _pretrain_refused(output_dir: Path, repo_id: str, capsys: pytest.CaptureFixture) -> str:
    """`looc-pretrain ... --push_to_hub repo_id` in this process: it must exit with rc 1 and a message."""
    with pytest.raises(SystemExit) as stopped:
        pretrain_main(["--config", DEMO_RECIPE, *TINY, "--output_dir", str(output_dir), "--push_to_hub", repo_id])
    assert stopped.value.code == 1
    assert not (output_dir / "logs").exists()  # nothing trained, nothing logged
    return capsys.readouterr().err


def test_a_push_target_that_cannot_take_the_push_stops_before_training(tmp_path, loopback_hub, monkeypatch, capsys):
    """An unreachable Hub and a repo holding files the trained model lacks are found before the first step, with a
    message and rc 1, and the fix named is one that exists (`looc-publish --stale`, not a pretrain flag)."""
    monkeypatch.setenv("HF_TOKEN", "hf_loopback")
    api = loopback_hub.api()
    api.create_repo("looc-test/push-target-has-license")
    api.create_commit(
        "looc-test/push-target-has-license", operations=[CommitOperationAdd("LICENSE", b"MIT")], commit_message="a"
    )
    message = _pretrain_refused(tmp_path / "b", "looc-test/push-target-has-license", capsys)
    assert "the repo holds file(s) the trained model will not have: ['LICENSE']" in message
    assert "looc-publish <output_dir>/model looc-test/push-target-has-license --stale keep" in message

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    message = _pretrain_refused(tmp_path / "a", "looc-test/x", capsys)
    assert "--push_to_hub looc-test/x: the Hub http://127.0.0.1:9 did not answer" in message


def test_a_huge_model_name_or_repo_id_is_named_not_echoed():
    for attempt in (
        lambda: looc_hub.create_model(HUGE),
        lambda: LooCModel.from_pretrained(HUGE),
        lambda: check_repo_id(f"org/{HUGE}"),
    ):
        with pytest.raises((ValueError, FileNotFoundError)) as error:
            attempt()
        assert len(str(error.value)) < 1000 and "xxx..." in str(error.value)
