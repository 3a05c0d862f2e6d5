"""The Hub layer: how a LooC model is saved, loaded, described, published and exported.

- `model_files`: the folder format shared with plain timm (config.json, model.safetensors, looc_heads.safetensors).
- `records`, `card`: a folder's records (recipe, results files, classifier) and the card rendered only from them.
- `zoo`, `factory`: the named models (a registry, as timm's) and `create_model`.
- `mixin`: `LooCHubMixin`, huggingface_hub's mixin for `LooCModel` (save, load, push).
- `validation`, `upload`, `publish`: the checks a folder passes before it leaves the machine, the one upload
  path (staged candidate, one commit), and its public face.
- `export`: the backbone for plain timm and torchvision, and `embed` as a `torch.export` program.

Import from the modules (or from `looc_hub`): this package imports nothing itself, so that `looc_hub.model`
can use `mixin` while `publish`, `export` and `factory` use the model.
"""
