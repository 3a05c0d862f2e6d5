"""The LooC view generator: a query and n + 1 keys per image, where key i shares the query's augmentation i.

Split between the data loader and this engine (fixed for the project): the loader decodes each image, resizes
its shorter side to a fixed canvas size and centre-crops a square canvas, so a batch is one uint8 tensor
(B, 3, C, C); this engine does everything random on the batch: random resized crop from the canvas straight to
the output size (with flip and rotation folded into the same bilinear resampling), texture, colour, blur, then
normalisation. Inputs may also be float in [0, 1], of any height and width.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torch import Tensor

from looc_hub._checks import check_int, is_number
from looc_hub.views._validate import check_float_batch, resolve_device, to_unit_float
from looc_hub.views.geometry import resized_crop
from looc_hub.views.params import AugmentationParams
from looc_hub.views.registry import (
    GEOMETRY_AUGMENTATIONS,
    IN_PLACE_AUGMENTATIONS,
    REGISTRY,
    check_listed,
    create_augmentations,
    get_augmentation,
)

_MIN_OUTPUT_SIZE = 8  # smaller views cannot hold a blur kernel or a texture period
_CHUNK_BYTES = 2**22  # CPU: rows rendered together, so the temporaries of one chunk stay in cache


@dataclass(frozen=True, eq=False)
class LooCViews:
    """Views of one batch. ``params`` maps augmentation name to parameters with (n + 2) * B rows, view-major:
    rows [0, B) are the query's, then k_0's, then k_i's in the generator's ``augmentations`` order."""

    query: Tensor  # (B, 3, S, S) float32, normalised
    keys: Tensor  # (n + 1, B, 3, S, S): keys[0] = k_0, keys[i] = k_i (i-th leave-one-out augmentation)
    params: dict[str, AugmentationParams] | None = None
    # (n, n + 1, B) bool: [i, v, b] = key v of image b renders leave-one-out augmentation i exactly as the query
    # does (always for v = i + 1, its positive; by chance for others, e.g. 1 key in 4 for rotation)
    shares_query: Tensor | None = None


class LooCViewGenerator:
    """Batched LooC views (docs/method.md, "Views"): q and k_0 resample everything; k_i copies the query's
    parameters of the i-th leave-one-out augmentation and resamples all other augmentations.

    Which augmentations exist, their roles, keywords and rendering order come from the registry
    (``looc_hub.views.registry``). Base augmentations (random resized crop, horizontal flip, Gaussian blur; MoCo
    v2 settings) are resampled for every view unless left out. ``invariant_augmentations`` are resampled for
    every view too: with ``augmentations=()`` this is plain MoCo with one key (MoCo v2:
    ``invariant_augmentations=("color",)``; MoCo + Rotation: ``("color", "rotation")``). Every view of the batch
    is sampled at once and rendered as one stack, each augmentation batched over the stack (in cache-sized row
    chunks on CPU).

    Order of operations (ours; flip, rotation and blur commute with colour, so this is MoCo v2's order for its
    augmentations): crop + flip + rotation, texture, colour jitter + grayscale, blur, normalisation.

    Args:
        augmentations: leave-one-out augmentations, each gets a key and an embedding space; names from
            ``LEAVE_ONE_OUT_AUGMENTATIONS`` (``looc_hub.AUGMENTATIONS``). Key order follows this order.
        invariant_augmentations: further augmentations applied as ordinary invariances.
        output_size: side of the square views.
        mean, std: per-channel normalisation of the output.
        chunk_size: rows rendered together; None picks cache-sized chunks on CPU (rendered by parallel worker
            threads, see ``render``) and whole views on other devices. Results do not depend on it.
        **strengths: the registry's keywords, None or absent for the default:
            crop_scale, crop_ratio: random resized crop ranges (MoCo v2: (0.2, 1.0); (3/4, 4/3)).
            flip_p: horizontal flip probability (0.5).
            blur_sigma, blur_p: Gaussian blur sigma range in output pixels and probability. Default: MoCo v2's
                (0.1, 2.0) px at 224 px, scaled to ``output_size`` (ours, ``scaled_blur_sigma``); p 0.5.
            brightness, contrast, saturation, hue, color_p, grayscale_p: colour jitter strengths and
                probabilities (MoCo v2: 0.4, 0.4, 0.4, 0.1, 0.8, 0.2).
            texture_strength, texture_frequency, texture_p: see ``RandomTexture`` (project choice).

    Raises:
        ValueError: an unknown, repeated or overlapping augmentation name, or an invalid strength.
        TypeError: a keyword no registered augmentation takes.

    Example::

        views_of = LooCViewGenerator(("color", "rotation"), output_size=64)
        views = views_of(canvas, generator=torch.Generator().manual_seed(0))  # canvas: uint8 (B, 3, C, C)
        views.keys.shape  # (3, B, 3, 64, 64): k_0, k_color, k_rotation
    """

    def __init__(
        self,
        augmentations: Sequence[str] = ("color", "rotation"),
        invariant_augmentations: Sequence[str] = (),
        output_size: int = 224,
        mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: Sequence[float] = IMAGENET_DEFAULT_STD,
        *,
        chunk_size: int | None = None,
        **strengths: Any,
    ) -> None:
        self.augmentations = _as_names("augmentations", augmentations)
        self.invariant_augmentations = _as_names("invariant_augmentations", invariant_augmentations)
        check_listed(self.augmentations, self.invariant_augmentations)
        self.output_size = check_int("output_size", output_size, minimum=_MIN_OUTPUT_SIZE)
        self.mean = _check_channels("mean", mean, positive=False)
        self.std = _check_channels("std", std, positive=True)
        self.chunk_size = None if chunk_size is None else check_int("chunk_size", chunk_size)
        self._augmentations = create_augmentations(self.output_size, **strengths)
        listed = (*self.augmentations, *self.invariant_augmentations)
        # drawn for every batch, in registry order
        self._drawn = tuple(name for name, spec in REGISTRY.items() if spec.base or name in listed)

    @classmethod
    def from_config(cls, config: Any, **strengths: Any) -> LooCViewGenerator:
        """Build from any object with ``augmentations``, ``invariant_augmentations``, ``image_size``, ``mean``
        and ``std`` attributes (the project's LooCConfig); ``strengths`` (e.g. ``crop_scale=(0.5, 1.0)``) override
        the MoCo v2 defaults of the keyword-only arguments."""
        fields = ("augmentations", "invariant_augmentations", "image_size", "mean", "std")
        missing = [name for name in fields if not hasattr(config, name)]
        if missing:
            raise TypeError(f"config lacks {missing}; a view generator config needs the attributes {fields}")
        return cls(
            augmentations=tuple(config.augmentations),
            invariant_augmentations=tuple(config.invariant_augmentations),
            output_size=config.image_size,
            mean=tuple(config.mean),
            std=tuple(config.std),
            **strengths,
        )

    @property
    def num_views(self) -> int:
        """n + 2: the query, k_0 and one key per leave-one-out augmentation."""
        return len(self.augmentations) + 2

    @property
    def view_names(self) -> tuple[str, ...]:
        return ("q", "k_0", *(f"k_{name}" for name in self.augmentations))

    def __call__(
        self, images: Tensor, generator: torch.Generator | None = None, return_params: bool = False
    ) -> LooCViews:
        """uint8 (B, 3, H, W), or float in [0, 1] -> normalised float32 views of side ``output_size``."""
        images = to_unit_float(images)
        batch_size = images.shape[0]
        device = images.device if generator is None else None
        params = self.sample(batch_size, tuple(images.shape[-2:]), generator=generator, device=device)
        stack = self.render(images, params)  # ((n + 2) * B, 3, S, S)
        views = stack.unflatten(0, (self.num_views, batch_size))  # (n + 2, B, 3, S, S)
        return LooCViews(
            query=views[0],
            keys=views[1:],
            params=params if return_params else None,
            shares_query=self.shares_query(params, batch_size),
        )

    def shares_query(self, params: dict[str, AugmentationParams], batch_size: int) -> Tensor:
        """(n, n + 1, B) bool: which keys render each leave-one-out augmentation exactly as the query does.

        The loss needs it: a key k_j (j != i) that happens to draw the query's value of augmentation i is a
        positive of Z_i, not a negative (``LooCLoss``).
        """
        shared = []
        for name in self.augmentations:
            query, *keys = params[name].split(batch_size)  # n + 2 views of B rows
            shared.append(torch.stack([query.same_effect(key) for key in keys]))  # (n + 1, B)
        if not shared:
            return torch.zeros(0, 1, batch_size, dtype=torch.bool, device=params["crop"].top.device)
        return torch.stack(shared)

    def sample(
        self,
        batch_size: int,
        image_size: tuple[int, int],
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> dict[str, AugmentationParams]:
        """Parameters of every view of a batch, (n + 2) * batch_size rows each, view-major (see ``LooCViews``).

        Drawn on the generator's device with that generator only, in a fixed order, so a seed fixes the views.
        """
        check_int("batch_size", batch_size)
        device = resolve_device(generator, device)
        rows = self.num_views * batch_size
        params: dict[str, AugmentationParams] = {}
        for name in self._drawn:
            drawn = REGISTRY[name].sample(self._augmentations[name], rows, image_size, generator, device)
            if name in self.augmentations:
                drawn = _share_with_query(drawn, 2 + self.augmentations.index(name), batch_size)
            params[name] = drawn
        return params

    def render(self, images: Tensor, params: dict[str, AugmentationParams]) -> Tensor:
        """Float images in [0, 1] (B, 3, H, W) and ``sample``'s parameters -> views ((n + 2) * B, 3, S, S).

        Rows are rendered in chunks that never span two views (a chunk's rows read consecutive source images).
        On CPU, chunks run on ``torch.get_num_threads()`` worker threads with one intra-op thread each: chunks
        are independent, so no core waits at per-operation barriers (with intra-op threads instead, a machine
        shared with other processes made the engine up to 40x slower). Results do not depend on chunking or
        threads.
        """
        check_float_batch(images)
        batch_size, size = images.shape[0], self.output_size
        if params["crop"].batch_size != self.num_views * batch_size:
            raise ValueError(
                f"params hold {params['crop'].batch_size} rows; {batch_size} images need {self.num_views} views each"
            )
        params = {name: value.to(images.device) for name, value in params.items()}
        output = torch.empty(self.num_views * batch_size, 3, size, size, device=images.device)
        scale = torch.tensor([1.0 / s for s in self.std], device=images.device).view(1, 3, 1, 1)
        shift = torch.tensor([-m / s for m, s in zip(self.mean, self.std, strict=True)], device=images.device)
        chunk = self._chunk_rows(images.device, batch_size)

        def render_chunk(view: int, start: int) -> None:
            stop = min(start + chunk, batch_size)
            rows = slice(view * batch_size + start, view * batch_size + stop)
            views = self._render_rows(images[start:stop], {name: value[rows] for name, value in params.items()})
            torch.addcmul(shift.view(1, 3, 1, 1), views, scale, out=output[rows])  # (x - mean) / std

        chunks = [(view, start) for view in range(self.num_views) for start in range(0, batch_size, chunk)]
        workers = min(torch.get_num_threads(), len(chunks)) if images.device.type == "cpu" else 1
        if workers == 1:
            for view, start in chunks:
                render_chunk(view, start)
        else:
            with ThreadPoolExecutor(workers, initializer=torch.set_num_threads, initargs=(1,)) as pool:
                list(pool.map(render_chunk, *zip(*chunks, strict=True)))  # list(): re-raise worker errors
        return output

    def _render_rows(self, images: Tensor, params: dict[str, AugmentationParams]) -> Tensor:
        geometry = {name: params.get(name) for name in GEOMETRY_AUGMENTATIONS}
        views = resized_crop(images, output_size=self.output_size, **geometry)
        for name in IN_PLACE_AUGMENTATIONS:
            if name in params:
                self._augmentations[name].apply_(views, params[name])
        return views

    def augmentation(self, name: str) -> Any:
        """The generator's instance of augmentation ``name`` (e.g. ``augmentation("crop").scale``)."""
        get_augmentation(name)  # an unknown name fails listing the valid ones
        return self._augmentations[name]

    def _chunk_rows(self, device: torch.device, batch_size: int) -> int:
        if self.chunk_size is not None:
            return self.chunk_size
        if device.type != "cpu":
            return batch_size
        return max(1, _CHUNK_BYTES // (3 * self.output_size**2 * 4))

    def __repr__(self) -> str:
        instances = ", ".join(f"{name}={augmentation}" for name, augmentation in self._augmentations.items())
        return (
            f"{type(self).__name__}(augmentations={self.augmentations}, "
            f"invariant_augmentations={self.invariant_augmentations}, output_size={self.output_size}, {instances})"
        )


def _share_with_query(params: AugmentationParams, view: int, batch_size: int) -> AugmentationParams:
    """Give ``view``'s rows the query's (view 0) parameters: the leave-one-out key of this augmentation."""
    views = params.split(batch_size)
    views[view] = views[0]
    return type(params).cat(views)


def _as_names(argument: str, names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ValueError(f"{argument} must be a sequence of names such as ('color',), got {names!r}")
    return tuple(names)


def _check_channels(name: str, values: Sequence[float], positive: bool) -> tuple[float, float, float]:
    if (
        not isinstance(values, Sequence)
        or len(values) != 3
        or not all(is_number(v) for v in values)
        or (positive and min(values) <= 0)
    ):
        requirement = "positive numbers" if positive else "numbers"
        raise ValueError(f"{name} must be 3 {requirement} (one per RGB channel), got {values!r}")
    return tuple(float(v) for v in values)
