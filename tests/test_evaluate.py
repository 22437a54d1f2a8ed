"""ICDAR 2015 scoring on hand-made cases with known scores, GT readers and the `eval` sub-command."""

import argparse
import json

import numpy as np
import pytest

from detectors.geometry import box_to_quad
from pipeline.evaluation.icdar import (
    Counts,
    GTWord,
    evaluate_photos,
    image_key,
    load_gt,
    load_icdar_txt,
    load_predictions,
    match_image,
    prf,
)

from conftest import shared_path


def gt_words():
    return [
        GTWord(box_to_quad(0, 0, 100, 20), "Hello"),
        GTWord(box_to_quad(0, 40, 60, 60), "WORLD!"),
        GTWord(box_to_quad(200, 0, 240, 20), "at"),  # too short for end-to-end: don't-care there
        GTWord(box_to_quad(300, 300, 400, 340), "###", ignore=True),
    ]


def test_detection_and_end_to_end_counts_with_known_scores():
    preds = [
        box_to_quad(2, 0, 100, 20),     # Hello: IoU 0.98
        box_to_quad(0, 40, 30, 60),     # half of WORLD: IoU 0.5 exactly -> a match
        box_to_quad(200, 0, 240, 20),   # "at"
        box_to_quad(310, 305, 390, 335),  # inside the ### region: dropped
        box_to_quad(500, 500, 540, 520),  # a false alarm
    ]
    texts = ["HELLO", "w.o.r.l.d", "at", "x", "noise"]
    c = match_image(gt_words(), preds, texts)
    # detection: 3 care GT, 4 kept predictions, 3 matches
    assert (c.det_tp, c.det_pred, c.det_gt) == (3, 4, 3)
    # end-to-end: "at" is don't-care, so its box is dropped; HELLO and WORLD match case-insensitively
    assert (c.e2e_tp, c.e2e_pred, c.e2e_gt) == (2, 3, 2)
    s = c.scores()
    assert s["det_precision"] == pytest.approx(0.75) and s["det_recall"] == pytest.approx(1.0)
    assert s["det_hmean"] == pytest.approx(2 * 0.75 / 1.75)
    assert s["e2e_precision"] == pytest.approx(2 / 3) and s["e2e_hmean"] == pytest.approx(0.8)


def test_matching_is_one_to_one_and_below_half_iou_misses():
    gt = [GTWord(box_to_quad(0, 0, 100, 20), "street")]
    # two predictions on one word: only one counts, the other is a false alarm
    c = match_image(gt, [box_to_quad(0, 0, 100, 20), box_to_quad(1, 0, 100, 20)], ["street", "street"])
    assert (c.det_tp, c.det_pred, c.e2e_tp, c.e2e_pred) == (1, 2, 1, 2)
    c = match_image(gt, [box_to_quad(0, 0, 49, 20)], ["street"])  # IoU 0.49
    assert (c.det_tp, c.e2e_tp) == (0, 0)
    # a right box with a wrong word counts for detection only; an empty read is no e2e prediction
    c = match_image(gt, [box_to_quad(0, 0, 100, 20)], ["strect"])
    assert (c.det_tp, c.e2e_tp, c.e2e_pred) == (1, 0, 1)
    c = match_image(gt, [box_to_quad(0, 0, 100, 20)], ["--"])
    assert (c.det_tp, c.e2e_tp, c.e2e_pred) == (1, 0, 0)


def test_empty_cases_and_sums():
    assert prf(0, 0, 0) == (1.0, 1.0, 1.0)
    assert prf(0, 3, 0)[0] == 0.0 and prf(0, 0, 2) == (0.0, 0.0, 0.0)
    assert Counts(1, 2, 3, 4, 5, 6) + Counts(1, 1, 1, 1, 1, 1) == Counts(2, 3, 4, 5, 6, 7)


def test_icdar_txt_reader_handles_bom_commas_and_dont_care(tmp_path):
    path = tmp_path / "gt_img_7.txt"
    path.write_bytes("\ufeff377,117,463,117,465,130,378,130,Genaxis Theatre\r\n"
                     "10,10,50,10,50,30,10,30,###\r\n"
                     "1,2,3,2,3,4,1,4,12,000\n\n".encode("utf-8"))
    words = load_icdar_txt(path)
    assert [w.text for w in words] == ["Genaxis Theatre", "###", "12,000"]
    assert [w.ignore for w in words] == [False, True, False]
    np.testing.assert_allclose(words[0].quad, [[377, 117], [463, 117], [465, 130], [378, 130]])
    assert image_key(path) == "img_7" and image_key("photos/img_7.jpg") == "img_7"
    assert [w.text for w in load_gt(tmp_path)["img_7"]] == ["Genaxis Theatre", "###", "12,000"]
    bad = tmp_path / "bad" / "gt_img_1.txt"
    bad.parent.mkdir()
    bad.write_text("1,2,x,4,5,6,7,8,word\n")
    with pytest.raises(ValueError, match="gt_img_1.txt:1"):
        load_gt(bad.parent)


def test_predictions_from_read_records_and_missing_images(tmp_path):
    rec = {"image": "/data/img_1.jpg", "width": 200, "height": 100, "lines": [
        {"text": "Hello", "words": [{"text": "Hello", "quad": [[2, 0], [100, 0], [100, 20], [2, 20]]}]}]}
    pred_path = tmp_path / "results.jsonl"
    pred_path.write_text(json.dumps(rec) + "\n" + json.dumps({"image": "img_9.jpg", "error": "broken"}) + "\n")
    preds = load_predictions(pred_path)
    assert set(preds) == {"img_1", "img_9"} and preds["img_9"] == ([], [])
    gt = {"img_1": [GTWord(box_to_quad(0, 0, 100, 20), "hello")], "img_2": [GTWord(box_to_quad(0, 0, 50, 20), "shop")]}
    report = evaluate_photos(gt, preds)
    assert report.missing == ("img_2",) and report.extra == ("img_9",)
    assert (report.counts.det_tp, report.counts.det_pred, report.counts.det_gt) == (1, 1, 2)
    assert report.scores()["e2e_recall"] == pytest.approx(0.5)


def test_eval_command_on_the_icdar_toy_ground_truth_scores_a_perfect_prediction(tmp_path, capsys):
    from pipeline.commands import eval as eval_cmd

    folder = shared_path("photos_gt", "icdar2015_train_toy")
    gt = load_gt(folder / "orig_gt")
    assert load_gt(folder).keys() == gt.keys()
    # perfect predictions from the jsonl ground truth: every care word found and read
    with open(tmp_path / "results.jsonl", "w") as fh:
        for key, words in gt.items():
            ws = [{"text": w.text, "quad": w.quad.tolist()} for w in words if not w.ignore]
            fh.write(json.dumps({"image": key + ".jpg", "lines": [{"words": ws}]}) + "\n")
    parser = argparse.ArgumentParser()
    eval_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["eval", "--gt", str(folder / "orig_gt"), "--pred", str(tmp_path / "results.jsonl"),
                              "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["det_hmean"] == 1.0 and out["e2e_hmean"] == 1.0 and out["det_gt"] == 21
    args = parser.parse_args(["eval", "--gt", str(tmp_path / "nowhere"), "--pred", str(tmp_path / "results.jsonl")])
    assert args.func(args) == 2


def test_eval_command_with_a_lexicon_corrects_only_unsure_words(tmp_path, capsys):
    from pipeline.commands import eval as eval_cmd

    gt_path = tmp_path / "gt.jsonl"
    words = [("EXIT", box_to_quad(0, 0, 100, 20)), ("Pacific", box_to_quad(0, 40, 140, 60)),
             ("Harbour", box_to_quad(0, 80, 140, 100))]
    gt_path.write_text(json.dumps({"image": "img_1.jpg", "words": [{"text": t, "quad": q.tolist()}
                                                                     for t, q in words]}) + "\n")
    # EXITY unsure -> EXIT; Pacifich confident -> kept (wrong); Hrbor unsure but two edits away -> kept
    read = [("EXITY", 0.5), ("Pacifich", 0.99), ("Hrbor", 0.4)]
    rec = {"image": "img_1.jpg", "lines": [{"words": [{"text": t, "score": s, "quad": q.tolist()}
                                                      for (t, s), (_, q) in zip(read, words)]}]}
    (tmp_path / "results.jsonl").write_text(json.dumps(rec) + "\n")
    (tmp_path / "lexicon.txt").write_text("# street words\nexit\npacific\nharbour\n")
    parser = argparse.ArgumentParser()
    eval_cmd.add_parser(parser.add_subparsers())
    common = ["eval", "--gt", str(gt_path), "--pred", str(tmp_path / "results.jsonl"), "--json"]
    assert parser.parse_args(common).func(parser.parse_args(common)) == 0
    assert json.loads(capsys.readouterr().out)["e2e_tp"] == 0
    args = parser.parse_args(common + ["--lexicon", str(tmp_path / "lexicon.txt")])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["e2e_tp"] == 1
    args = parser.parse_args(common + ["--lexicon", str(tmp_path / "missing.txt")])
    assert args.func(args) == 2
