"""The Hub layer: how a LooC model is saved, loaded, described, published and exported.

It sits above both the network (`looc_hub.model`) and evaluation (the card reads the protocol table and results):
- `model_files`: the folder format shared with plain timm (config.json, model.safetensors, looc_heads.safetensors).
- `records`, `card`: a folder's records (recipe, results files, classifier) and the card rendered only from them.
- `validation`, `upload`: the checks a folder passes before it leaves the machine, and the one upload path (a
  staged candidate, one commit) that `publish` and `push_to_hub` share.
- `mixin`: `LooCHubMixin`, huggingface_hub's mixin (save, load, push); `pretrained`: the public `LooCModel`, the
  network with that mixin.
- `zoo`, `factory`: the named models (a registry, as timm's) and `create_model`.
- `publish`: the public face of the upload (`publish`, `validate_model_dir`, `attach_results`); `export`: the
  backbone for plain timm and torchvision, and `embed` as a `torch.export` program.

Import from the modules (or from `looc_hub`): this package imports nothing itself, so importing one of them does
not import them all.
"""
