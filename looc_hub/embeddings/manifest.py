"""`embeddings.json`: what an embeddings folder holds, enough to refuse mixing runs and to embed a query the same way.

It records the model (where it came from, its revision, a hash of its weights), the spaces and their dimensions,
the preprocessing (timm's data config of the model), the dataset and split, the storage dtype, the shard size,
and, once the run is complete, the row count and the shards. It is written atomically when a run starts
(`complete: false`) and again when every shard exists (`complete: true`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._atomic import atomic_file
from .._checks import short_repr
from .._json_file import read_json
from .._version import __version__

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "FORMAT",
    "MANIFEST_NAME",
    "DatasetInfo",
    "EmbeddingManifest",
    "EmbeddingsMismatchError",
    "ModelIdentity",
    "PartialEmbeddingsError",
    "read_manifest",
    "weights_sha256",
    "write_manifest",
]

MANIFEST_NAME = "embeddings.json"
FORMAT = "looc-hub-embeddings"
FORMAT_VERSION = 1


class EmbeddingsMismatchError(ValueError):
    """An embeddings folder holds another model's or dataset's embeddings than the ones asked for."""


class PartialEmbeddingsError(ValueError):
    """An embeddings folder whose run has not finished (a killed or running `looc-embed`)."""


def weights_sha256(model: nn.Module) -> str:
    """SHA-256 of every parameter and buffer (names, dtypes, shapes, bytes, in name order): the weights' identity,
    whatever folder, repo or revision they were loaded from."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)};".encode())
        digest.update(value.reshape(-1).view(-1).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelIdentity:
    """Which model computed the embeddings."""

    source: str
    """A Hub repo id or a folder (absolute), what `from_pretrained` was given."""
    revision: str | None
    weights_sha256: str
    variant: str
    backbone: str

    def describe(self) -> str:
        revision = f"@{self.revision}" if self.revision else ""
        return f"{self.source}{revision} (weights sha256 {self.weights_sha256[:12]})"


@dataclass(frozen=True)
class DatasetInfo:
    """Which rows were embedded: `id` is the row index in this split."""

    source: str
    split: str
    image_column: str = "image"
    label_column: str | None = None
    streaming: bool = False

    def describe(self) -> str:
        return f"{self.source} split {self.split!r}"


@dataclass
class EmbeddingManifest:
    """The contents of `embeddings.json`."""

    model: ModelIdentity
    dataset: DatasetInfo
    spaces: dict[str, int]
    """{space: dimension}, in column order."""
    dtype: str
    preprocessing: dict[str, Any]
    """timm's data config of the model (input_size, interpolation, crop_pct, crop_mode, mean, std)."""
    shard_rows: int
    complete: bool = False
    rows: int | None = None
    shards: list[dict[str, int | str]] = field(default_factory=list)
    """[{"file": "shard-00000.parquet", "first_id": 0, "rows": 10000}, ...] once complete."""
    looc_hub_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}

    def identity(self) -> dict[str, Any]:
        """What must match for two runs to write the same embeddings (as JSON values)."""
        model, dataset = self.model, self.dataset
        return _jsonable(
            {
                "model": [model.source, model.revision, model.weights_sha256],
                "dataset": [dataset.source, dataset.split, dataset.image_column, dataset.label_column],
                "spaces": self.spaces,
                "dtype": self.dtype,
                "preprocessing": self.preprocessing,
                "shard_rows": self.shard_rows,
            }
        )

    def differences(self, other: EmbeddingManifest) -> list[str]:
        """The fields of `identity` that differ from `other`'s (empty: the same embeddings)."""
        mine, theirs = self.identity(), other.identity()
        return [name for name in mine if mine[name] != theirs[name]]

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> EmbeddingManifest:
        if data.get("format") != FORMAT:
            raise ValueError(f"{path} is not a looc-hub embeddings manifest (format {short_repr(data.get('format'))})")
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{path} has format_version {short_repr(data.get('format_version'))}; "
                f"this looc-hub reads {FORMAT_VERSION}"
            )
        try:
            fields = {key: value for key, value in data.items() if key not in ("format", "format_version")}
            return cls(
                **{
                    **fields,
                    "model": ModelIdentity(**fields["model"]),
                    "dataset": DatasetInfo(**fields["dataset"]),
                }
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a valid embeddings manifest: {error}") from None


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def read_manifest(folder: str | os.PathLike) -> EmbeddingManifest | None:
    """The manifest of `folder`, or None when it has none."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a looc-hub embeddings manifest (a JSON {type(data).__name__}, not an object)")
    return EmbeddingManifest.from_dict(data, path)


def write_manifest(folder: str | os.PathLike, manifest: EmbeddingManifest) -> Path:
    """Write `folder/embeddings.json` atomically."""
    target = Path(folder) / MANIFEST_NAME
    with atomic_file(target) as staging:
        staging.write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
    return target
