"""Script entry point of evaluation; the command is `looc-evaluate` (looc_hub/cli/evaluate.py).

python training/evaluate.py --model outputs/looc-r10t-openmoji32/model --dataset looc-hub/digits --output_dir eval
"""

from looc_hub.cli.evaluate import main

if __name__ == "__main__":
    main()
