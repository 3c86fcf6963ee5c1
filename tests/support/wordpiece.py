"""A WordPiece as the tokenizer.json Hugging Face's tokenizers reads: the reference digest's own WordPiece is held to.

The JSON written is laid out as all-MiniLM-L6-v2's own tokenizer.json (a test holds the packaged one equal to it, but
for the fixed truncation and padding that file carries), so the library reads it as that model's tokenizer.
"""

from __future__ import annotations

from typing import Any

from digest.issue.meaning.wordpiece import WordPiece


def tokenizer_json(wordpiece: WordPiece) -> dict[str, Any]:
    vocabulary = wordpiece.vocabulary
    flags = wordpiece.normaliser
    ends = [*wordpiece.start, *wordpiece.end]
    special = [{"SpecialToken": {"id": token, "type_id": 0}} for token in wordpiece.start]
    closing = [{"SpecialToken": {"id": token, "type_id": 0}} for token in wordpiece.end]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": vocabulary[token],
                "special": True,
                "content": token,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
            }
            for token in sorted(wordpiece.special, key=vocabulary.__getitem__)
        ],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": flags.clean_text,
            "handle_chinese_chars": flags.handle_chinese_chars,
            "strip_accents": flags.strip_accents,
            "lowercase": flags.lowercase,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [*special, {"Sequence": {"id": "A", "type_id": 0}}, *closing],
            "pair": [
                *special,
                {"Sequence": {"id": "A", "type_id": 0}},
                *closing,
                {"Sequence": {"id": "B", "type_id": 1}},
                *[{"SpecialToken": {"id": token, "type_id": 1}} for token in wordpiece.end],
            ],
            "special_tokens": {token: {"id": token, "ids": [vocabulary[token]], "tokens": [token]} for token in ends},
        },
        "decoder": {"type": "WordPiece", "prefix": wordpiece.prefix, "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": wordpiece.unknown,
            "continuing_subword_prefix": wordpiece.prefix,
            "max_input_chars_per_word": wordpiece.max_word,
            "vocab": dict(vocabulary),
        },
    }
