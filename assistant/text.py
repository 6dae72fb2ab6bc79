"""Sentence splitting and word matching shared by the offline engine."""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[])")
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because
    been before being below between both but by can could did do does doing down
    during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would
    you your yours yourself yourselves tell explain describe give please
    """.split()
)


def normalize(word: str) -> str:
    """Lowercase a word and strip a plural or possessive ending."""
    word = word.lower().strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Content words of ``text``, normalized, in order."""
    return [
        normalize(match.group())
        for match in WORD.finditer(text)
        if match.group().lower() not in STOPWORDS
    ]


def sentence_spans(text: str, base: int = 0) -> list[tuple[int, int]]:
    """[start, end) offsets of the sentences of ``text``, shifted by ``base``.

    Leading and trailing whitespace is left out of each span, so the span's
    text is exactly the sentence.
    """
    spans = []
    position = 0
    for match in SENTENCE_END.finditer(text):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, len(text)))
    result = []
    for start, end in spans:
        segment = text[start:end]
        stripped_start = start + (len(segment) - len(segment.lstrip()))
        stripped_end = end - (len(segment) - len(segment.rstrip()))
        if stripped_end > stripped_start:
            result.append((base + stripped_start, base + stripped_end))
    return result
