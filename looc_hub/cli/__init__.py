"""The console commands (`[project.scripts]` in pyproject.toml), one module each with `main(argv=None)`
and its `build_parser()`.

`looc-pretrain`, `looc-evaluate`, `looc-finetune`, `looc-publish`, `looc-export` and `looc-recipes`; the files in
`training/` are thin `accelerate launch` entry points that call the same `main`, and `python -m looc_hub.cli.<name>`
runs them too (e.g. `accelerate launch -m looc_hub.cli.pretrain` from a pip install).
"""
