"""The Hub layer: how a LooC model is saved, loaded, described, published and exported.

It sits above both the network (`looc_hub.model`) and evaluation (the card reads the protocol table and results):
- `model_files`: the folder format shared with plain timm (config.json, model.safetensors, looc_heads.safetensors).
- `card`, `card_retarget`: the model card, rendered from the model and its results file.
- `validation`: the checks a folder passes before it leaves the machine.
- `mixin`: `LooCHubMixin`, huggingface_hub's mixin (save, load, push); `pretrained`: the public `LooCModel`, the
  network with that mixin.
- `zoo`, `factory`: the named models (a registry, as timm's) and `create_model`.
- `publish`: the one-commit upload; `export`: the backbone for plain timm and torchvision, and `embed` as a
  `torch.export` program.

Import from the modules (or from `looc_hub`): this package imports nothing itself, so importing one of them does
not import them all.
"""
