"""List the shipped recipes (`looc-recipes`), or print the path of one, e.g. for `accelerate launch --config_file`.

looc-recipes                      # pretraining recipes and Accelerate configs, with their files
accelerate launch --config_file $(looc-recipes single_node_8gpu) -m looc_hub.cli.pretrain --config looc_r50_in100
"""

from __future__ import annotations

from collections.abc import Sequence

from looc_hub._flags import CommandParser, command_parser
from looc_hub.recipes import accelerate_config_path, list_accelerate_configs, list_recipes, recipe_path


def build_parser() -> CommandParser:
    parser = command_parser("looc-recipes", __doc__)
    parser.add_argument(
        "name",
        nargs="?",
        choices=[*list_recipes(), *list_accelerate_configs()],
        help="print this recipe's or Accelerate config's path (default: list them all)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    recipes, configs = list_recipes(), list_accelerate_configs()
    args = build_parser().parse_args(argv)
    if args.name is not None:
        print(recipe_path(args.name) if args.name in recipes else accelerate_config_path(args.name))
        return
    print("pretraining recipes (looc-pretrain --config NAME):")
    print("\n".join(f"  {name:<34} {recipe_path(name)}" for name in recipes))
    print("Accelerate configs (accelerate launch --config_file $(looc-recipes NAME) ...):")
    print("\n".join(f"  {name:<34} {accelerate_config_path(name)}" for name in configs))


if __name__ == "__main__":
    main()
