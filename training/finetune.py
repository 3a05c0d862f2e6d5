"""`accelerate launch` entry point of fine-tuning; the command is `looc-finetune` (looc_hub/cli/finetune.py).

accelerate launch --multi_gpu --num_processes 4 training/finetune.py --model MODEL --dataset DATA --output_dir out
"""

from looc_hub.cli.finetune import main

if __name__ == "__main__":
    main()
