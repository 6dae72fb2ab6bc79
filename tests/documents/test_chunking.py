"""Chunking of document text, on generated text and on real documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from documents.chunking import Chunk, split_into_chunks
from documents.extraction import ExtractedText, extract, page_for_offset

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
DOCUMENTS = FIXTURES / "documents"

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()


def assert_chunks_valid(
    text: str, pages: list[tuple[int, int]], chunks: list[Chunk], max_chars: int
) -> None:
    """Check the contract of split_into_chunks on one result."""
    assert chunks, "no chunks"
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))

    previous_end = 0
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert 0 < chunk.end - chunk.start <= max_chars, chunk
        assert chunk.text.strip(), f"whitespace-only chunk {chunk.index}"
        # Only whitespace may lie between chunks, so no text is dropped.
        gap = text[previous_end : chunk.start]
        assert chunk.start >= previous_end, f"chunk {chunk.index} overlaps"
        assert not gap.strip(), f"text dropped before chunk {chunk.index}"
        previous_end = chunk.end
    assert not text[previous_end:].strip(), "text dropped after the last chunk"

    for chunk in chunks:
        assert chunk.page == page_for_offset(pages, chunk.start)
        page_start, page_end = pages[chunk.page - 1]
        assert page_start <= chunk.start < chunk.end <= page_end, (
            f"chunk {chunk.index} crosses a page boundary"
        )


def sentence(number: int, words: int = 12) -> str:
    body = " ".join(WORDS[(number + i) % len(WORDS)] for i in range(words))
    return body.capitalize() + "."


def paragraph(first_sentence: int, sentences: int) -> str:
    return " ".join(sentence(first_sentence + i) for i in range(sentences))


def whole(text: str) -> list[tuple[int, int]]:
    return [(0, len(text))]


@pytest.fixture(scope="module")
def tracemonkey() -> ExtractedText:
    return extract(DOCUMENTS / "tracemonkey-paper.pdf", "tracemonkey-paper.pdf")


@pytest.fixture(scope="module")
def shakespeare() -> ExtractedText:
    return extract(DOCUMENTS / "shakespeare-1mb.txt", "shakespeare-1mb.txt")


# --- Real documents --------------------------------------------------------


def test_tracemonkey_chunks_cover_text(tracemonkey: ExtractedText) -> None:
    chunks = split_into_chunks(tracemonkey.text, tracemonkey.pages)

    assert_chunks_valid(tracemonkey.text, tracemonkey.pages, chunks, 2000)
    assert {chunk.page for chunk in chunks} == set(range(1, 15))
    for chunk in chunks[:-1]:
        assert chunk.text[-1].isspace(), chunk.text[-80:]


def test_tracemonkey_chunks_start_each_page(tracemonkey: ExtractedText) -> None:
    chunks = split_into_chunks(tracemonkey.text, tracemonkey.pages)
    starts = {chunk.start: chunk.page for chunk in chunks}

    for number, (start, _end) in enumerate(tracemonkey.pages, start=1):
        assert starts.get(start) == number, f"no chunk starts page {number}"


def test_shakespeare_chunks_cover_text(shakespeare: ExtractedText) -> None:
    chunks = split_into_chunks(shakespeare.text, shakespeare.pages)

    assert_chunks_valid(shakespeare.text, shakespeare.pages, chunks, 2000)


def test_shakespeare_chunks_end_between_words(shakespeare: ExtractedText) -> None:
    chunks = split_into_chunks(shakespeare.text, shakespeare.pages)
    inner_chunks = chunks[:-1]
    at_blank_line = [chunk for chunk in inner_chunks if chunk.text.endswith("\n\n")]

    for chunk in inner_chunks:
        assert chunk.text[-1].isspace(), chunk.text[-80:]
    # Speeches are separated by blank lines; only speeches longer than the
    # chunk window end their chunk elsewhere.
    assert len(at_blank_line) >= 0.95 * len(inner_chunks)


def test_shakespeare_chunks_are_near_target(shakespeare: ExtractedText) -> None:
    chunks = split_into_chunks(shakespeare.text, shakespeare.pages)
    sizes = [len(chunk.text) for chunk in chunks]

    assert min(sizes[:-1]) >= 600
    assert 900 <= sum(sizes) / len(sizes) <= 1500


@pytest.mark.parametrize(("target_chars", "max_chars"), [(200, 300), (50, 80)])
def test_small_sizes_keep_contract(
    shakespeare: ExtractedText, target_chars: int, max_chars: int
) -> None:
    text = shakespeare.text[:50_000]

    chunks = split_into_chunks(text, whole(text), target_chars, max_chars)

    assert_chunks_valid(text, whole(text), chunks, max_chars)


# --- Break points ----------------------------------------------------------


def test_short_text_is_one_chunk() -> None:
    text = "A short note."

    chunks = split_into_chunks(text, whole(text))

    assert chunks == [Chunk(index=0, start=0, end=13, page=1, text=text)]


def test_paragraph_break_is_preferred_to_sentence_end() -> None:
    text = "\n\n".join(paragraph(10 * i, 5) for i in range(10))

    chunks = split_into_chunks(text, whole(text), target_chars=1200, max_chars=2000)

    assert len(chunks) > 1
    assert_chunks_valid(text, whole(text), chunks, 2000)
    for chunk in chunks[:-1]:
        assert chunk.text.endswith(".\n\n"), chunk.text[-40:]


def test_sentence_end_is_preferred_to_whitespace() -> None:
    text = paragraph(0, 60)

    chunks = split_into_chunks(text, whole(text), target_chars=1200, max_chars=2000)

    assert len(chunks) > 1
    assert_chunks_valid(text, whole(text), chunks, 2000)
    for chunk in chunks[:-1]:
        assert chunk.text.endswith(". "), chunk.text[-40:]


def test_words_are_not_split_without_punctuation() -> None:
    text = " ".join(WORDS[i % len(WORDS)] for i in range(2000))

    chunks = split_into_chunks(text, whole(text), target_chars=1200, max_chars=2000)

    assert len(chunks) > 1
    assert_chunks_valid(text, whole(text), chunks, 2000)
    for chunk in chunks[:-1]:
        assert chunk.text.endswith(" ")
        assert chunk.text.split()[-1] in WORDS


def test_cut_nearest_target_among_paragraph_breaks() -> None:
    # Breaks after 300, 1000 and 1400 characters: 1000 and 1400 are both
    # long enough, and 1000 is nearer the 1200 target.
    text = "a" * 298 + "\n\n" + "b" * 698 + "\n\n" + "c" * 398 + "\n\n" + "d" * 900

    chunks = split_into_chunks(text, whole(text), target_chars=1200, max_chars=2000)

    assert chunks[0].end == 1000


def test_word_longer_than_max_is_cut() -> None:
    text = "x" * 4500

    chunks = split_into_chunks(text, whole(text), target_chars=1200, max_chars=2000)

    assert [(chunk.start, chunk.end) for chunk in chunks] == [
        (0, 2000),
        (2000, 4000),
        (4000, 4500),
    ]


def test_long_word_after_short_words_starts_new_chunk() -> None:
    text = "short words " + "y" * 2500

    chunks = split_into_chunks(text, whole(text), target_chars=1200, max_chars=2000)

    assert chunks[0].text == "short words "
    assert_chunks_valid(text, whole(text), chunks, 2000)


def test_chinese_sentences_break_after_full_stop() -> None:
    text = "这是一个句子。" * 600

    chunks = split_into_chunks(text, whole(text), target_chars=1200, max_chars=2000)

    assert_chunks_valid(text, whole(text), chunks, 2000)
    for chunk in chunks[:-1]:
        assert chunk.text.endswith("。")


# --- Pages -----------------------------------------------------------------


def test_chunks_break_at_page_ends() -> None:
    page_one = "First page text.\n\n"
    page_two = "Second page text."
    text = page_one + page_two
    pages = [(0, len(page_one)), (len(page_one), len(text))]

    chunks = split_into_chunks(text, pages)

    assert [(chunk.start, chunk.end, chunk.page) for chunk in chunks] == [
        (0, len(page_one), 1),
        (len(page_one), len(text), 2),
    ]


def test_chunk_at_page_boundary_gets_next_page() -> None:
    page_texts = [paragraph(0, 30) + "\n\n", paragraph(5, 30) + "\n\n", "End."]
    text = "".join(page_texts)
    pages = []
    offset = 0
    for page_text in page_texts:
        pages.append((offset, offset + len(page_text)))
        offset += len(page_text)

    chunks = split_into_chunks(text, pages)

    assert_chunks_valid(text, pages, chunks, 2000)
    first_on_page = {}
    for chunk in chunks:
        first_on_page.setdefault(chunk.page, chunk)
    assert first_on_page[2].start == pages[1][0]
    assert first_on_page[3].start == pages[2][0]
    assert first_on_page[3].text == "End."


def test_whitespace_only_page_has_no_chunk() -> None:
    text = "Page one.\n\n" + "   \n\n" + "Page three."
    pages = [(0, 11), (11, 16), (16, len(text))]

    chunks = split_into_chunks(text, pages)

    assert [chunk.page for chunk in chunks] == [1, 3]
    assert [chunk.index for chunk in chunks] == [0, 1]


def test_empty_last_page_has_no_chunk() -> None:
    text = "Only page.\n\n"
    pages = [(0, len(text)), (len(text), len(text))]

    chunks = split_into_chunks(text, pages)

    assert [(chunk.page, chunk.text) for chunk in chunks] == [(1, text)]


def test_empty_text_has_no_chunks() -> None:
    assert split_into_chunks("", [(0, 0)]) == []
    assert split_into_chunks("", []) == []


# --- Invalid arguments -----------------------------------------------------


@pytest.mark.parametrize(
    ("target_chars", "max_chars"), [(0, 100), (-5, 100), (200, 100)]
)
def test_invalid_sizes_raise_value_error(target_chars: int, max_chars: int) -> None:
    with pytest.raises(ValueError):
        split_into_chunks("Some text.", [(0, 10)], target_chars, max_chars)


@pytest.mark.parametrize(
    "pages",
    [
        [],
        [(0, 5)],
        [(1, 10)],
        [(0, 4), (5, 10)],
        [(0, 6), (5, 10)],
        [(0, 10), (10, 12)],
    ],
)
def test_pages_not_covering_text_raise_value_error(
    pages: list[tuple[int, int]],
) -> None:
    with pytest.raises(ValueError):
        split_into_chunks("Some text.", pages)
