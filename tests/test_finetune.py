"""`sceneocr finetune` on a tiny random TrOCR and rendered words (CPU, no network, a few seconds).

What is checked: labels and decoder inputs are built as the released checkpoints expect (no second start token,
end token last, padding -100); the schedule; the augmentations; training makes the loss fall and the accuracy
on the training crops rise from ~0 to ~1; a killed run resumes from its checkpoint and ends with the weights
of an uninterrupted run; the result loads through the recognizer that ``sceneocr read`` builds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.evaluation.words import evaluate_words, pooled_accuracy
from recognizer.crops import load_crop_set
from pipeline.data.synthetic import render_word
from recognizer.finetune import (AugmentOptions, FinetuneOptions, TrainState, _batch_indices, _pad_labels,
                                 augment_crop, encode_labels, finetune, lr_at, special_ids)

# words the tiny tokenizer spells (its vocabulary: ASCII letters, digits and a few merges)
WORDS = ("the", "in", "AB", "12", "cat", "dog", "sun", "red")


# every test here: hub access fails at once, torch on one thread (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("hub_blocked", "one_torch_thread")


@pytest.fixture(scope="module")
def base(tiny_trocr_dir) -> str:
    return tiny_trocr_dir


@pytest.fixture(scope="module")
def crops_dir(tmp_path_factory) -> Path:
    """16 rendered word crops, 24 px high, two of each word, in a folder with labels.tsv."""
    from PIL import Image

    d = tmp_path_factory.mktemp("crops")
    lines = []
    for i in range(16):
        word = WORDS[i % len(WORDS)]
        Image.fromarray(render_word(word, height=24, seed=i)).save(d / f"w{i:02d}.png")
        lines.append(f"w{i:02d}.png\t{word}\n")
    (d / "labels.tsv").write_text("".join(lines), encoding="utf-8")
    return d


def _options(base: str, out: Path, **kw) -> FinetuneOptions:
    defaults = dict(base=base, out=str(out), steps=60, batch_size=8, lr=3e-3, eval_every=20, checkpoint_every=20,
                    log_every=10, augment=None, device="cpu")
    defaults.update(kw)
    return FinetuneOptions(**defaults)


def _tokenizer_and_model(base: str):
    from transformers import TrOCRProcessor, VisionEncoderDecoderModel

    return TrOCRProcessor.from_pretrained(base).tokenizer, VisionEncoderDecoderModel.from_pretrained(base)


# --- pure parts --------------------------------------------------------------------------------------------


def test_labels_have_no_start_token_end_with_eos_and_pad_with_minus_100(base):
    tokenizer, model = _tokenizer_and_model(base)
    ids = special_ids(model, tokenizer)
    # the checkpoint's own definition: decoding starts from </s> (id 2), as in the released TrOCR checkpoints
    assert ids == {"decoder_start_token_id": 2, "eos_token_id": 2, "pad_token_id": 1, "bos_token_id": 0}
    rows = encode_labels(tokenizer, ["the", "cat"], ids["eos_token_id"])
    for row, text in zip(rows, ["the", "cat"]):
        assert row[0] not in (ids["bos_token_id"], ids["decoder_start_token_id"])  # no (double) start token
        assert row[-1] == ids["eos_token_id"] and row.count(ids["eos_token_id"]) == 1
        assert tokenizer.decode(row, skip_special_tokens=True) == text
    padded = _pad_labels([[5, 6, 2], [7, 2]])
    assert padded.tolist() == [[5, 6, 2], [7, 2, -100]]


def test_schedule_warms_up_then_decays_to_the_floor():
    lrs = [lr_at(s, 100, 1.0, 10, min_lr_ratio=0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a <= b for a, b in zip(lrs[:10], lrs[1:10]))
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] == pytest.approx(0.1, abs=1e-3)


def test_batches_cover_each_epoch_once_and_depend_only_on_the_step():
    n, bs = 10, 4
    first_epoch = [i for step in range(2) for i in _batch_indices(step, 0, bs, 1, n, seed=3)]
    first_epoch += _batch_indices(2, 0, bs, 1, n, seed=3)[:2]
    assert sorted(first_epoch) == list(range(n))
    assert _batch_indices(7, 0, bs, 1, n, seed=3) == _batch_indices(7, 0, bs, 1, n, seed=3, orders={})


def test_augmentation_keeps_shape_is_seeded_and_changes_pixels():
    crop = render_word("cat", height=24)
    a = augment_crop(crop, np.random.default_rng(1), AugmentOptions())
    b = augment_crop(crop, np.random.default_rng(1), AugmentOptions())
    assert a.shape == crop.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - crop.astype(int)).mean() > 1.0


# --- training ----------------------------------------------------------------------------------------------


def test_training_lowers_the_loss_raises_accuracy_and_loads_for_read(base, crops_dir, tmp_path):
    from recognizer import build_recognizer

    crops = load_crop_set(crops_dir)
    start = evaluate_words(build_recognizer("trocr", model=base, device="cpu"), crops).accuracy
    states = []
    result = finetune(_options(base, tmp_path / "out"), [crops], lambda rec: pooled_accuracy(rec, [crops]), log=lambda m: None,
                      on_step=states.append)
    assert result.steps == 60 and result.resumed_from == 0
    assert np.mean([s.loss for s in states[-5:]]) < 0.5 * np.mean([s.loss for s in states[:5]])
    assert result.best_accuracy is not None and result.best_accuracy >= 0.9
    # the saved model, loaded as `sceneocr read --recognizer trocr --model OUT` loads it
    rec = build_recognizer("trocr", model=str(result.out), device="cpu")
    end = evaluate_words(rec, crops).accuracy
    assert start <= 0.2 and end >= 0.9, (start, end)
    gen = json.loads((result.out / "generation_config.json").read_text())
    assert (gen["decoder_start_token_id"], gen["eos_token_id"], gen["pad_token_id"]) == (2, 2, 1)
    log = [json.loads(line) for line in (result.out / "finetune_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [20, 40, 60]


class _Killed(Exception):
    pass


def _kill_at(step: int):
    def on_step(state: TrainState) -> None:
        if state.step == step:
            raise _Killed
    return on_step


def _weights(out: Path):
    import torch

    return torch.load(out / "checkpoint" / "model.pt")


def test_a_killed_run_resumes_from_its_checkpoint(base, crops_dir, tmp_path):
    crops = load_crop_set(crops_dir)
    # augmentations on: the resumed run must redraw exactly the crops the uninterrupted one saw
    kw = dict(steps=12, checkpoint_every=4, eval_every=100, augment=AugmentOptions())
    whole = finetune(_options(base, tmp_path / "whole", **kw), [crops], log=lambda m: None)
    assert whole.steps == 12

    opts = _options(base, tmp_path / "killed", **kw)
    with pytest.raises(_Killed):
        finetune(opts, [crops], log=lambda m: None, on_step=_kill_at(7))
    state = json.loads((tmp_path / "killed" / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 4
    seen = []
    resumed = finetune(opts, [crops], log=lambda m: None, on_step=seen.append)
    assert resumed.resumed_from == 4 and resumed.steps == 12
    assert [s.step for s in seen] == list(range(5, 13))
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "killed")
    for key in a:
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), atol=1e-6, err_msg=key)
    # a finished run: nothing more to do
    again = finetune(opts, [crops], log=lambda m: None)
    assert again.resumed_from == 12 and again.steps == 12
    # other batch size: not the same run, refused rather than mixed
    with pytest.raises(ValueError, match="batch_size"):
        finetune(_options(base, tmp_path / "killed", **{**kw, "batch_size": 4}), [crops], log=lambda m: None)


def test_command_line(base, crops_dir, tmp_path, capsys):
    from pipeline.commands import finetune as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "cli"
    args = parser.parse_args(["finetune", "--train", str(crops_dir), "--val", str(crops_dir), "--base", base,
                              "--out", str(out), "--steps", "4", "--batch-size", "4", "--no-augment",
                              "--device", "cpu", "--log-every", "2", "--eval-every", "4"])
    assert args.func(args) == 0
    err = capsys.readouterr().err
    assert "step 4/4" in err and "val acc" in err and "model in" in err
    assert (out / "model.safetensors").is_file() and (out / "checkpoint" / "optimizer.pt").is_file()
    bad = parser.parse_args(["finetune", "--train", str(tmp_path / "nowhere"), "--base", base, "--out", str(out)])
    assert bad.func(bad) == 2
