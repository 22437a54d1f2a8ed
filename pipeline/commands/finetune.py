"""`sceneocr finetune`: fine-tune a TrOCR checkpoint on labelled word crops (resumable)."""

from __future__ import annotations

import argparse
from typing import List

from pipeline.commands._common import complain, positive_int


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def add_parser(sub) -> None:
    ft = sub.add_parser(
        "finetune", help="fine-tune TrOCR on labelled word crops",
        description="Fine-tune a TrOCR checkpoint on word crops: folders with labels.tsv (file<TAB>label, as "
                    "'sceneocr export-crops' writes them) or scene-text LMDBs (num-samples, image-%%09d, "
                    "label-%%09d). Writes a Hugging Face model directory into --out (the best on --val, else the "
                    "last), usable as 'sceneocr read --recognizer trocr --model OUT'. Running the same command "
                    "again after an interruption continues from OUT/checkpoint. See docs/finetune.md.")
    ft.add_argument("--train", nargs="+", required=True, metavar="DIR", help="training crop sets")
    ft.add_argument("--val", nargs="+", default=[], metavar="DIR",
                    help="validation crop sets: word accuracy (eval-rec protocol) every --eval-every steps; "
                         "the best model is kept")
    ft.add_argument("--base", default="microsoft/trocr-base-str", metavar="ID_OR_DIR",
                    help="the TrOCR checkpoint to start from: hub id or local directory "
                         "(default microsoft/trocr-base-str)")
    ft.add_argument("--out", required=True, metavar="DIR", help="output model directory")
    ft.add_argument("--steps", type=positive_int, default=None, metavar="N",
                    help="optimizer steps in all (default: from --epochs)")
    ft.add_argument("--epochs", type=_positive_float, default=3.0, metavar="E",
                    help="passes over the training crops when --steps is not given (default 3)")
    ft.add_argument("--batch-size", type=positive_int, default=16, metavar="B", help="crops per forward pass (16)")
    ft.add_argument("--grad-accum", type=positive_int, default=1, metavar="K",
                    help="forward passes per optimizer step (effective batch B*K; default 1)")
    ft.add_argument("--lr", type=_positive_float, default=3e-5, metavar="LR", help="peak learning rate (3e-5)")
    ft.add_argument("--warmup-steps", type=int, default=None, metavar="N", help="default: 5%% of the steps")
    ft.add_argument("--no-augment", action="store_true", help="train on the crops as stored")
    ft.add_argument("--label-case", choices=("keep", "upper", "lower"), default="keep",
                    help="case applied to labels (the -str checkpoints were trained on upper case)")
    ft.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    ft.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                    help="auto: bf16 autocast on GPUs that support it, else fp32")
    ft.add_argument("--eval-every", type=positive_int, default=500, metavar="N", help="validate every N steps (500)")
    ft.add_argument("--checkpoint-every", type=positive_int, default=200, metavar="N",
                    help="write the resumable checkpoint every N steps (200)")
    ft.add_argument("--log-every", type=positive_int, default=20, metavar="N", help="print progress every N steps")
    ft.add_argument("--seed", type=int, default=0)
    ft.add_argument("--overwrite", action="store_true", help="start afresh even if --out holds a checkpoint")
    ft.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from recognizer.finetune import FinetuneOptions, finetune
    from recognizer.hub import WeightsUnavailable

    from recognizer.crops import CropSet, load_crop_set

    from pipeline.evaluation.words import pooled_accuracy

    train: List[CropSet] = []
    val: List[CropSet] = []
    for dirs, sets in ((args.train, train), (args.val, val)):
        for d in dirs:
            try:
                sets.append(load_crop_set(d))
            except (ValueError, FileNotFoundError, RuntimeError) as exc:
                return complain(exc)
    options = FinetuneOptions(
        base=args.base, out=args.out, steps=args.steps, epochs=args.epochs, batch_size=args.batch_size,
        grad_accum=args.grad_accum, lr=args.lr, warmup_steps=args.warmup_steps, label_case=args.label_case,
        device=args.device, precision=args.precision, eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every, log_every=args.log_every, seed=args.seed, overwrite=args.overwrite)
    if args.no_augment:
        options = dataclasses.replace(options, augment=None)
    try:
        validate = (lambda rec: pooled_accuracy(rec, val)) if val else None
        result = finetune(options, train, validate)
    except (WeightsUnavailable, FileNotFoundError, RuntimeError, ValueError) as exc:
        return complain(exc)
    best = "" if result.best_accuracy is None else \
        f", best validation accuracy {result.best_accuracy:.4f} at step {result.best_step}"
    complain(f"model in {result.out} ({result.steps} steps{best})")
    return 0
