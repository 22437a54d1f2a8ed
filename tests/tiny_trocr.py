"""A tiny, randomly initialised TrOCR checkpoint for fast CPU tests.

``make_tiny_trocr(path)`` writes a directory laid out like a released TrOCR
checkpoint (``config.json``, ``generation_config.json``, weights, tokenizer and
``preprocessor_config.json``), so tests load it through the same
``from_pretrained`` path as ``microsoft/trocr-large-str``. Nothing is
downloaded.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Dict, List, Tuple, Union

__all__ = ["make_tiny_trocr", "TINY_IMAGE_SIZE_PX"]

#: side of the square encoder input, pixels (the released checkpoints use 384)
TINY_IMAGE_SIZE_PX = 64

# Released TrOCR checkpoints use fairseq/RoBERTa ids: <s>=0, <pad>=1, </s>=2 (also
# the decoder start token), <unk>=3. The tiny one keeps them so id handling is
# exercised as it is for the real model.
_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
# A few merges give multi-character tokens, so per-character scores are tested
# on tokens that produce more than one character; "Ġ" (byte-level space) gives
# tokens with a leading space.
_MERGES = [("t", "h"), ("e", "r"), ("i", "n"), ("th", "e"), ("Ġ", "t"), ("A", "B"), ("1", "2")]


def _vocab_and_merges() -> Tuple[Dict[str, int], List[Tuple[str, str]]]:
    symbols = list(string.ascii_lowercase + string.ascii_uppercase + string.digits) + ["Ġ"]
    # <mask> last, as in RoBERTa's vocabulary
    tokens = _SPECIALS + symbols + [a + b for a, b in _MERGES] + ["<mask>"]
    return {tok: i for i, tok in enumerate(tokens)}, list(_MERGES)


def make_tiny_trocr(path: Union[str, Path], seed: int = 4, init_std: float = 0.25, eos_gain: float = 1.5) -> str:
    """Build a tiny random TrOCR (ViT 64x64 / patch 16 encoder, 2-layer decoder) and save it to ``path``.

    Weights are drawn from N(0, ``init_std``) with a fixed ``seed``: the default
    initialisation (std 0.02) makes the decoder emit ``</s>`` first for every
    image, whereas wider weights make the text depend on the image and run
    several tokens long. The ``</s>`` row of the (tied) output projection is then
    scaled by ``eos_gain`` so that some readings end early and others run to
    ``max_new_tokens``: batches then mix finished and unfinished rows.
    Returns ``str(path)``.
    """
    import torch
    from transformers import (
        GenerationConfig,
        RobertaTokenizer,
        TrOCRConfig,
        TrOCRProcessor,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    vocab, merges = _vocab_and_merges()
    # transformers 5: RobertaTokenizer(vocab=dict, merges=[(a, b), ...]) builds a working
    # byte-level BPE (RobertaTokenizerFast(vocab_file=..., merges_file=...) gives
    # a 5-token vocabulary there).
    tokenizer = RobertaTokenizer(vocab=vocab, merges=merges)
    assert len(tokenizer) == len(vocab), (len(tokenizer), len(vocab))
    image_processor = ViTImageProcessor(
        size={"height": TINY_IMAGE_SIZE_PX, "width": TINY_IMAGE_SIZE_PX},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    processor = TrOCRProcessor(image_processor=image_processor, tokenizer=tokenizer)

    encoder = ViTConfig(
        image_size=TINY_IMAGE_SIZE_PX,
        patch_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        qkv_bias=False,
    )
    decoder = TrOCRConfig(
        vocab_size=len(vocab),
        d_model=32,
        decoder_layers=2,
        decoder_attention_heads=2,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        cross_attention_hidden_size=32,
        decoder_start_token_id=2,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        dropout=0.0,
        is_decoder=True,
        add_cross_attention=True,
    )
    config = VisionEncoderDecoderConfig(encoder=encoder, decoder=decoder)
    config.decoder_start_token_id = 2
    config.pad_token_id = 1
    config.eos_token_id = 2
    config.vocab_size = len(vocab)

    torch.manual_seed(seed)
    model = VisionEncoderDecoderModel(config=config)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, init_std)
        model.decoder.get_output_embeddings().weight[2] *= eos_gain
    model.generation_config = GenerationConfig(
        decoder_start_token_id=2, pad_token_id=1, eos_token_id=2, bos_token_id=0
    )
    model.eval()
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return str(path)
