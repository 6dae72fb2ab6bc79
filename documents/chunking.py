"""Splitting of a document's text into chunks for search and for the prompt.

Chunks follow each other in document order without overlap, and each one is
a slice of the text, so its offsets can be cited and shown in the original.
Each chunk stays on one page and ends, when the text allows, at a paragraph
break, else after a sentence, else at whitespace. This module has no Django
or database dependency.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    """A slice `text[start:end]` of a document's text."""

    index: int
    start: int
    end: int
    page: int
    text: str


# Break points, best first. Each match ends where the next chunk starts, so
# the whitespace after a break stays with the chunk before it.
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?…][\"'’”»)\]]*\s+|[。！？][\"'’”」』)]*\s*")
_WHITESPACE = re.compile(r"\s+")
_BREAK_PATTERNS = (_PARAGRAPH_BREAK, _SENTENCE_END, _WHITESPACE)


def split_into_chunks(
    text: str,
    pages: list[tuple[int, int]],
    target_chars: int = 1200,
    max_chars: int = 2000,
) -> list[Chunk]:
    """Split `text` into chunks of about `target_chars` characters.

    `pages` are the contiguous `[start, end)` page ranges of `text`, as in
    `ExtractedText`. Every chunk lies within one page and has at most
    `max_chars` characters. A chunk is cut inside a word only when a single
    word is longer than `max_chars`. Chunks that would contain only
    whitespace are left out, so whitespace is the only text not covered.

    Raises ValueError when the sizes are not positive with `target_chars`
    at most `max_chars`, or when `pages` do not cover `text`.
    """
    if not 0 < target_chars <= max_chars:
        raise ValueError(
            "Chunk sizes must satisfy 0 < target_chars <= max_chars, got "
            f"target_chars={target_chars}, max_chars={max_chars}"
        )
    _check_pages(text, pages)

    chunks: list[Chunk] = []
    for page_number, (page_start, page_end) in enumerate(pages, start=1):
        for start, end in _page_spans(
            text, page_start, page_end, target_chars, max_chars
        ):
            chunk_text = text[start:end]
            if chunk_text.isspace():
                continue
            chunks.append(
                Chunk(
                    index=len(chunks),
                    start=start,
                    end=end,
                    page=page_number,
                    text=chunk_text,
                )
            )
    return chunks


def _check_pages(text: str, pages: list[tuple[int, int]]) -> None:
    if not pages:
        if text:
            raise ValueError("pages is empty but the text is not")
        return

    expected_start = 0
    for number, (start, end) in enumerate(pages, start=1):
        if start != expected_start or end < start:
            raise ValueError(
                f"Page {number} spans [{start}, {end}) but must start at "
                f"{expected_start}, where the previous page ends"
            )
        expected_start = end
    if expected_start != len(text):
        raise ValueError(
            f"The pages end at {expected_start}, not at the text length {len(text)}"
        )


def _page_spans(
    text: str, start: int, end: int, target_chars: int, max_chars: int
) -> Iterator[tuple[int, int]]:
    """Yield consecutive `(start, end)` spans that cover `text[start:end]`."""
    while start < end:
        # A remainder that fits is kept whole, so no page ends in a stub.
        if end - start <= max_chars:
            cut = end
        else:
            cut = _find_cut(text, start, start + max_chars, target_chars)
        yield start, cut
        start = cut


def _find_cut(text: str, start: int, limit: int, target_chars: int) -> int:
    """Return where to end a chunk that starts at `start`, at most at `limit`.

    The best kind of break point that leaves at least half of `target_chars`
    wins, and among those the one nearest `target_chars`. Without any, the
    chunk ends at the last whitespace, or inside a word at `limit`.
    """
    window = text[start:limit]
    min_length = target_chars // 2
    cuts: list[int] = []

    for pattern in _BREAK_PATTERNS:
        # Every match is at least one character long, so each cut is past
        # the start and the caller's loop always advances.
        cuts = [match.end() for match in pattern.finditer(window)]
        long_enough = [cut for cut in cuts if cut >= min_length]
        if long_enough:
            best = min(long_enough, key=lambda cut: abs(cut - target_chars))
            return start + best

    # `cuts` now contains the whitespace break points, all before
    # `min_length`.
    if cuts:
        return start + cuts[-1]
    return limit
