"""`accelerate launch` entry point of pretraining; the command is `looc-pretrain` (looc_hub/cli/pretrain.py).

python training/pretrain.py --config looc_r10t_openmoji32 --epochs 2
accelerate launch --multi_gpu --num_processes 8 training/pretrain.py --config looc_r50_in100
"""

from looc_hub.cli.pretrain import main

if __name__ == "__main__":
    main()
