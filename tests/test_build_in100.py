"""`looc-build-in100`: the paper's ImageNet-100 from a generated ImageNet-1k-shaped tree (real wnids, real JPEGs)."""

from __future__ import annotations

import os

import pytest
from timm.data import ImageNetInfo

from looc_hub.cli.build_in100 import main as build_in100
from looc_hub.data import load_image_dataset
from looc_hub.data.imagenet100 import IMAGENET100_CLASSES
from looc_hub.data.imagenet100_build import MANIFEST, build_imagenet100
from looc_hub.data.imagenet_sample import write_imagenet_tree

CLASSES = list(IMAGENET100_CLASSES[:3])
OTHER = "n01440764"  # tench: an ImageNet-1k class that is not in ImageNet-100


def test_the_shipped_list_is_100_distinct_imagenet_1k_classes():
    imagenet_1k = set(ImageNetInfo().label_names())  # timm's copy of the ILSVRC-2012 synsets
    assert len(imagenet_1k) == 1000
    assert len(IMAGENET100_CLASSES) == len(set(IMAGENET100_CLASSES)) == 100
    assert set(IMAGENET100_CLASSES) <= imagenet_1k
    assert OTHER not in IMAGENET100_CLASSES
    assert IMAGENET100_CLASSES[:2] == ("n02869837", "n01749939")  # CMC's order


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet")
    return root, write_imagenet_tree(root, [*CLASSES, OTHER], train=3, val=2)


def test_links_of_the_asked_classes_load_as_an_imagefolder(imagenet, tmp_path):
    root, written = imagenet
    built = build_imagenet100(root, tmp_path / "in100", classes=CLASSES, workers=2)
    out = tmp_path / "in100"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "train", "validation"]
    for split in ("train", "validation"):
        assert sorted(p.name for p in (out / split).iterdir()) == sorted(CLASSES)  # no tench
        for wnid in CLASSES:
            links = sorted((out / split / wnid).iterdir())
            assert all(link.is_symlink() for link in links)
            assert [link.resolve() for link in links] == [p.resolve() for p in written[split][wnid]]
    assert built.counts == {"train": dict.fromkeys(CLASSES, 3), "validation": dict.fromkeys(CLASSES, 2)}
    assert len(built.warnings) == 2 and "732-1,300 per class" in built.warnings[0]  # a tiny tree is no ImageNet

    train = load_image_dataset(out, split="train", label_column="label")
    validation = load_image_dataset(out, split="validation", label_column="label")
    assert len(train) == 9 and len(validation) == 6
    assert train.features["label"].names == sorted(CLASSES)
    assert train[0]["image"].size == (500, 375)


@pytest.mark.parametrize("val_layout", ["csv", "devkit"])
def test_a_flat_validation_folder_is_sorted_by_its_label_file(tmp_path, val_layout):
    written = write_imagenet_tree(tmp_path / "imagenet", [OTHER, *CLASSES], train=1, val=2, val_layout=val_layout)
    build_imagenet100(tmp_path / "imagenet", tmp_path / "in100", classes=CLASSES, mode="copy", workers=2)
    for wnid in CLASSES:
        copies = sorted((tmp_path / "in100" / "validation" / wnid).iterdir())
        assert [p.name for p in copies] == [p.name for p in written["validation"][wnid]]
        assert not any(p.is_symlink() for p in copies)
        assert [p.read_bytes() for p in copies] == [p.read_bytes() for p in written["validation"][wnid]]


def test_missing_classes_are_named_and_nothing_is_written(imagenet, tmp_path, capsys):
    root, _ = imagenet
    with pytest.raises(SystemExit) as exit_info:
        build_in100(["--imagenet", str(root), "--output", str(tmp_path / "in100")])  # the full list: 97 missing
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "97 of the 100 classes have no images in" in error and IMAGENET100_CLASSES[-1] in error
    assert CLASSES[0] not in error.split("images in")[1]
    assert not (tmp_path / "in100").exists()


def test_an_unreadable_image_is_named_and_nothing_is_written(tmp_path, capsys):
    write_imagenet_tree(tmp_path / "imagenet", CLASSES, train=2, val=1)
    broken = tmp_path / "imagenet" / "train" / CLASSES[1] / "broken.JPEG"
    broken.write_bytes(b"not a jpeg")
    classes = tmp_path / "classes.txt"
    classes.write_text("\n".join(CLASSES) + "\n")
    with pytest.raises(SystemExit):
        build_in100(["--imagenet", str(tmp_path / "imagenet"), "--output", str(tmp_path / "in100"), "--classes",
                     str(classes)])  # fmt: skip
    error = capsys.readouterr().err
    assert "1 unreadable image(s)" in error and str(broken) in error
    assert not (tmp_path / "in100").exists()


def test_strict_refuses_counts_unlike_imagenet(imagenet, tmp_path):
    root, _ = imagenet
    with pytest.raises(ValueError, match=r"--strict: train: 3 class\(es\) hold a count"):
        build_imagenet100(root, tmp_path / "in100", classes=CLASSES, strict=True)
    assert not (tmp_path / "in100").exists()


def test_a_folder_it_did_not_write_is_never_replaced_but_its_own_is(imagenet, tmp_path, capsys):
    root, _ = imagenet
    classes = tmp_path / "classes.txt"
    classes.write_text("\n".join(CLASSES) + "\n")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    command = ["--imagenet", str(root), "--classes", str(classes), "--workers", "2"]
    with pytest.raises(SystemExit):
        build_in100([*command, "--output", str(theirs)])
    assert "did not write: ['notes.txt']" in capsys.readouterr().err
    assert (theirs / "notes.txt").read_text() == "mine"

    ours = tmp_path / "ours"
    build_in100([*command, "--output", str(ours)])
    assert "wrote " in capsys.readouterr().out
    build_in100([*command, "--output", str(ours), "--mode", "copy"])  # a rebuild replaces its own output
    first = next((ours / "train" / CLASSES[0]).iterdir())
    assert not first.is_symlink() and os.path.getsize(first) > 10_000
