"""Text extraction from the real fixture documents and from generated files."""

from __future__ import annotations

import logging
import random
import time
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.parser import parse_xml

from documents import extraction
from documents.extraction import (
    ExtractedText,
    UnreadableDocument,
    UnsupportedFileType,
    detect_kind,
    extract,
    page_for_offset,
)

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
DOCUMENTS = FIXTURES / "documents"
PDF_CORPUS = sorted((FIXTURES / "pdf-corpus").glob("*.pdf"))

# The corpus files take well under a second each; this bound only catches a
# parser that loops.
CORPUS_SECONDS_LIMIT = 30.0

W_NAMESPACE = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
MC_NAMESPACE = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'


def assert_pages_cover_text(extracted: ExtractedText) -> None:
    assert extracted.pages, "no pages"
    assert extracted.pages[0][0] == 0
    assert extracted.pages[-1][1] == len(extracted.text)
    for previous, following in zip(extracted.pages, extracted.pages[1:], strict=False):
        assert previous[1] == following[0], f"gap or overlap at {previous}"
    for start, end in extracted.pages:
        assert start <= end


def write_pdf(
    path: Path,
    page_streams: list[bytes],
    media_box: str = "0 0 300 200",
    rotate: int = 0,
) -> Path:
    """Write a PDF with one Helvetica font and the given content streams."""
    page_count = len(page_streams)
    kids = " ".join(f"{4 + 2 * index} 0 R" for index in range(page_count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {page_count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for index, stream in enumerate(page_streams):
        content_number = 5 + 2 * index
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [{media_box}] "
                f"/Rotate {rotate} /Resources << /Font << /F1 3 0 R >> >> "
                f"/Contents {content_number} 0 R >>"
            ).encode()
        )
        objects.append(
            f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
        )

    output = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_offset = len(output)
    output += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        output += f"{offset:010d} 00000 n \n".encode()
    output += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
        f"startxref\n{xref_offset}\n%%EOF\n"
    ).encode()
    path.write_bytes(bytes(output))
    return path


def text_stream(text: str, x: int = 20, y: int = 100) -> bytes:
    return f"BT /F1 12 Tf {x} {y} Td ({text}) Tj ET".encode()


@pytest.fixture(scope="module")
def tracemonkey() -> ExtractedText:
    return extract(DOCUMENTS / "tracemonkey-paper.pdf", "tracemonkey-paper.pdf")


# --- PDF fixtures ------------------------------------------------------------


def test_tracemonkey_has_fourteen_contiguous_pages(tracemonkey: ExtractedText) -> None:
    assert tracemonkey.kind == "pdf"
    assert len(tracemonkey.pages) == 14
    assert_pages_cover_text(tracemonkey)


def test_tracemonkey_text_mentions_trace_trees(tracemonkey: ExtractedText) -> None:
    assert "trace tree" in tracemonkey.text.lower()


def test_tracemonkey_title_is_on_page_one(tracemonkey: ExtractedText) -> None:
    offset = tracemonkey.text.find("Trace-based Just-in-Time Type Specialization")

    assert offset != -1
    assert page_for_offset(tracemonkey.pages, offset) == 1


def test_tracemonkey_page_edges_map_to_their_page(
    tracemonkey: ExtractedText,
) -> None:
    for number, (start, end) in enumerate(tracemonkey.pages, start=1):
        assert page_for_offset(tracemonkey.pages, start) == number
        assert page_for_offset(tracemonkey.pages, end - 1) == number


def test_tracemonkey_text_has_no_control_characters(
    tracemonkey: ExtractedText,
) -> None:
    control = [ch for ch in tracemonkey.text if ord(ch) < 32 and ch not in "\n\t"]

    assert control == []
    assert " \n" not in tracemonkey.text


def test_tracemonkey_columns_read_in_order(tracemonkey: ExtractedText) -> None:
    # The abstract is in the left column; sorted by line across both
    # columns, its lines would alternate with the introduction's.
    first_page = tracemonkey.text[slice(*tracemonkey.pages[0])]

    assert (
        "Since no concrete type information\nis available, traditional compilers"
        in first_page
    )


def test_pdflatex_has_four_non_empty_pages() -> None:
    extracted = extract(DOCUMENTS / "pdflatex-4-pages.pdf", "pdflatex-4-pages.pdf")

    assert len(extracted.pages) == 4
    assert_pages_cover_text(extracted)
    for number, (start, end) in enumerate(extracted.pages, start=1):
        assert extracted.text[start:end].strip(), f"page {number} is empty"


def test_pdflatex_words_stay_separate() -> None:
    # pdfTeX's narrow spaces fuse words under pdfplumber's default tolerance.
    extracted = extract(DOCUMENTS / "pdflatex-4-pages.pdf", "pdflatex-4-pages.pdf")

    assert "Hello, here is some text without a meaning." in extracted.text


def test_multicolumn_reads_left_column_first() -> None:
    extracted = extract(DOCUMENTS / "multicolumn.pdf", "multicolumn.pdf")

    assert "with two columns filled\nwith Lorem Ipsum text." in extracted.text


@pytest.mark.parametrize(
    "name",
    [
        "arabic-rtl.pdf",
        "google-doc.pdf",
        "libreoffice-writer.pdf",
        "minimal-document.pdf",
    ],
)
def test_small_pdfs_extract_text(name: str) -> None:
    extracted = extract(DOCUMENTS / name, name)

    assert extracted.text.strip()
    assert_pages_cover_text(extracted)


def test_encrypted_pdf_is_rejected_as_password_protected() -> None:
    with pytest.raises(UnreadableDocument) as raised:
        extract(DOCUMENTS / "encrypted-password.pdf", "encrypted-password.pdf")

    assert "password" in raised.value.message
    assert "Remove the password" in raised.value.message


def test_images_only_pdf_lacks_text_layer() -> None:
    with pytest.raises(UnreadableDocument) as raised:
        extract(DOCUMENTS / "images-only-no-text.pdf", "images-only-no-text.pdf")

    assert "no text layer" in raised.value.message
    assert "scanned images" in raised.value.message
    assert "OCR" in raised.value.message


def test_pdf_over_max_pages_is_rejected() -> None:
    with pytest.raises(UnreadableDocument) as raised:
        extract(DOCUMENTS / "pdflatex-4-pages.pdf", "doc.pdf", max_pages=3)

    assert "4 pages" in raised.value.message
    assert "maximum of 3" in raised.value.message


def test_pdf_at_max_pages_is_accepted() -> None:
    extracted = extract(DOCUMENTS / "pdflatex-4-pages.pdf", "doc.pdf", max_pages=4)

    assert len(extracted.pages) == 4


def test_max_pages_below_one_raises_value_error() -> None:
    with pytest.raises(ValueError):
        extract(DOCUMENTS / "pdflatex-4-pages.pdf", "doc.pdf", max_pages=0)


# --- Generated PDFs --------------------------------------------------------


def test_generated_pdf_pages_keep_their_text(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "three.pdf",
        [text_stream("First page"), b"", text_stream("Third page")],
    )

    extracted = extract(path, "three.pdf")

    assert extracted.text == "First page\n\n\n\nThird page"
    assert extracted.pages == [(0, 12), (12, 14), (14, 24)]
    assert page_for_offset(extracted.pages, 12) == 2
    assert page_for_offset(extracted.pages, 14) == 3


def test_rotated_pdf_page_keeps_its_text(tmp_path: Path) -> None:
    # The text matrix turns the text a quarter anticlockwise, so it reads
    # upright on the page that /Rotate 90 turns clockwise.
    stream = b"BT /F1 12 Tf 0 1 -1 0 100 20 Tm (Upright words) Tj ET"
    path = write_pdf(tmp_path / "rotated.pdf", [stream], rotate=90)

    extracted = extract(path, "rotated.pdf")

    assert extracted.text == "Upright words"


def test_pdf_text_outside_page_is_ignored(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "offpage.pdf",
        [text_stream("Shown", y=100) + b"\n" + text_stream("Hidden", y=500)],
    )

    extracted = extract(path, "offpage.pdf")

    assert extracted.text == "Shown"


def test_pdf_only_off_page_is_empty(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "blank.pdf", [text_stream("Hidden", y=500)])

    with pytest.raises(UnreadableDocument) as raised:
        extract(path, "blank.pdf")

    assert "contains no text" in raised.value.message


def test_damaged_pdf_is_rejected_without_logging_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "damaged.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"secret words " * 200)

    with caplog.at_level(logging.WARNING, logger="documents.extraction"):
        with pytest.raises(UnreadableDocument) as raised:
            extract(path, "damaged.pdf")

    assert "damaged" in raised.value.message
    assert "not a valid PDF" in raised.value.message
    assert any("parser raised" in record.getMessage() for record in caplog.records)
    assert all("secret" not in record.getMessage() for record in caplog.records)


def test_truncated_pdf_is_read_or_rejected(tmp_path: Path) -> None:
    data = (DOCUMENTS / "tracemonkey-paper.pdf").read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 3])

    try:
        extracted = extract(path, "truncated.pdf")
    except UnreadableDocument as error:
        assert error.message
    else:
        assert_pages_cover_text(extracted)


def test_pdf_extension_without_signature_is_rejected_as_damaged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("just some words")

    with pytest.raises(UnreadableDocument) as raised:
        extract(path, "notes.pdf")

    assert "not a valid PDF" in raised.value.message


# --- PDF corpus ------------------------------------------------------------


def test_pdf_corpus_is_present() -> None:
    assert len(PDF_CORPUS) >= 40


@pytest.mark.parametrize("path", PDF_CORPUS, ids=[path.name for path in PDF_CORPUS])
def test_corpus_pdf_extracts_or_is_rejected(path: Path) -> None:
    started = time.monotonic()
    try:
        extracted = extract(path, path.name)
    except UnreadableDocument as error:
        assert error.message
    else:
        assert extracted.kind == "pdf"
        assert extracted.text.strip()
        assert_pages_cover_text(extracted)
    elapsed = time.monotonic() - started

    assert elapsed < CORPUS_SECONDS_LIMIT, f"{path.name} took {elapsed:.1f} s"


# --- Word documents ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "single-paragraph.docx",
        "tables.docx",
        "footnotes.docx",
        "simple-list.docx",
        "comments.docx",
    ],
)
def test_docx_fixture_has_text_on_one_page(name: str) -> None:
    extracted = extract(DOCUMENTS / name, name)

    assert extracted.kind == "docx"
    assert extracted.text.strip()
    assert extracted.pages == [(0, len(extracted.text))]


def test_single_paragraph_docx_text() -> None:
    extracted = extract(DOCUMENTS / "single-paragraph.docx", "a.docx")

    assert extracted.text == "Walking on imported air"


def test_tables_docx_rows_are_in_body_order() -> None:
    extracted = extract(DOCUMENTS / "tables.docx", "tables.docx")
    text = extracted.text

    assert "Top left | Top right" in text
    assert "Bottom left | Bottom right" in text
    assert text.index("Above") < text.index("Top left") < text.index("Below")


def test_simple_list_docx_items_are_paragraphs() -> None:
    extracted = extract(DOCUMENTS / "simple-list.docx", "list.docx")

    assert extracted.text == "Apple\n\nBanana"


def test_footnotes_docx_notes_follow_body() -> None:
    extracted = extract(DOCUMENTS / "footnotes.docx", "footnotes.docx")
    text = extracted.text

    assert text.startswith("Ouch.")
    assert "A tachyon walks into a bar." in text
    assert "Fin." in text


def test_comments_docx_leaves_comments_out() -> None:
    extracted = extract(DOCUMENTS / "comments.docx", "comments.docx")

    assert extracted.text == "Ouch."


def test_empty_zip_docx_is_rejected_as_invalid() -> None:
    with pytest.raises(UnreadableDocument) as raised:
        extract(DOCUMENTS / "not-really-a-docx.docx", "not-really-a-docx.docx")

    assert "not a valid Word document" in raised.value.message


def test_text_named_docx_is_rejected_as_invalid(tmp_path: Path) -> None:
    path = tmp_path / "letter.docx"
    path.write_text("Dear reader")

    with pytest.raises(UnreadableDocument) as raised:
        extract(path, "letter.docx")

    assert "not a valid Word document" in raised.value.message


def test_docx_unpacking_too_large_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 1 MB limit replaces the real one to keep the test fast.
    monkeypatch.setattr(extraction, "_MAX_DOCX_UNPACKED_BYTES", 1024 * 1024)
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (3 * 1024 * 1024))

    with pytest.raises(UnreadableDocument) as raised:
        extract(path, "bomb.docx")

    assert "unpacks to 3 MB" in raised.value.message
    assert "maximum of 1 MB" in raised.value.message


def test_docx_markup_is_read_like_word_shows_it(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Plain paragraph.")
    body = document.element.body
    section_properties = body[-1]
    for xml in (
        # A tracked insertion is shown, a tracked deletion is not.
        f"<w:p {W_NAMESPACE}><w:r><w:t xml:space='preserve'>Kept </w:t></w:r>"
        "<w:ins w:id='1' w:author='A'><w:r><w:t>inserted</w:t></w:r></w:ins>"
        "<w:del w:id='2' w:author='A'><w:r><w:delText>deleted</w:delText></w:r>"
        "</w:del></w:p>",
        f"<w:sdt {W_NAMESPACE}><w:sdtContent><w:p><w:r>"
        "<w:t>Inside a content control</w:t></w:r></w:p></w:sdtContent></w:sdt>",
        # A tab stop definition in the paragraph properties is not a tab.
        f"<w:p {W_NAMESPACE}><w:pPr><w:tabs><w:tab w:val='left' w:pos='720'/>"
        "</w:tabs></w:pPr><w:r><w:t>Name</w:t><w:tab/><w:t>Value</w:t>"
        "<w:br/><w:t>Next line</w:t></w:r></w:p>",
        # Word stores a text box twice: for current and for older readers.
        f"<w:p {W_NAMESPACE} {MC_NAMESPACE}><w:r><mc:AlternateContent>"
        "<mc:Choice Requires='wps'><w:drawing><w:txbxContent><w:p><w:r>"
        "<w:t>Text box</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice>"
        "<mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Text box</w:t>"
        "</w:r></w:p></w:txbxContent></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r></w:p>",
    ):
        section_properties.addprevious(parse_xml(xml))
    path = tmp_path / "markup.docx"
    document.save(str(path))

    text = extract(path, "markup.docx").text

    assert "Kept inserted" in text
    assert "deleted" not in text
    assert "Inside a content control" in text
    assert "Name\tValue\nNext line" in text
    assert text.count("Text box") == 1


def test_docx_nested_table_cell_text_is_kept(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Outer"
    inner = table.cell(0, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text = "Inner A"
    inner.cell(0, 1).text = "Inner B"
    path = tmp_path / "nested.docx"
    document.save(str(path))

    text = extract(path, "nested.docx").text

    assert "Outer | " in text
    assert "Inner A | Inner B" in text


def test_docx_without_text_contains_no_text(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    docx.Document().save(str(path))

    with pytest.raises(UnreadableDocument) as raised:
        extract(path, "empty.docx")

    assert "contains no text" in raised.value.message


# --- Plain text and Markdown -----------------------------------------------


def test_shakespeare_text_is_one_long_page() -> None:
    extracted = extract(DOCUMENTS / "shakespeare-1mb.txt", "shakespeare-1mb.txt")

    assert extracted.kind == "text"
    assert len(extracted.text) > 1_000_000
    assert extracted.pages == [(0, len(extracted.text))]
    assert extracted.text.startswith("First Citizen:\nBefore we proceed")


def test_markdown_is_kept_verbatim(tmp_path: Path) -> None:
    source = "# Title\n\n- item one\n- item two\n\n```python\nprint('x')\n```"
    path = tmp_path / "notes.md"
    path.write_text(source, encoding="utf-8")

    extracted = extract(path, "notes.md")

    assert extracted.kind == "text"
    assert extracted.text == source


def test_form_feeds_split_text_into_pages(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(b"Page one\fPage two\n\fPage three\f")

    extracted = extract(path, "report.txt")

    assert extracted.text == "Page one\n\nPage two\n\nPage three"
    assert extracted.pages == [(0, 10), (10, 20), (20, 30)]
    assert page_for_offset(extracted.pages, extracted.text.index("three")) == 3


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Café crème, naïve façade".encode("latin-1"))

    assert extract(path, "latin.txt").text == "Café crème, naïve façade"


def test_cp1252_quotes_are_decoded(tmp_path: Path) -> None:
    path = tmp_path / "quotes.txt"
    path.write_bytes("“Quoted” – 5 €".encode("cp1252"))

    assert extract(path, "quotes.txt").text == "“Quoted” – 5 €"


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes(b"caf\xe9 \x81end")

    # Latin-1 decodes 0x81 as a C1 control character, which is removed.
    assert extract(path, "odd.txt").text == "café end"


def test_utf8_byte_order_mark_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfHello \xc3\xa9t\xc3\xa9")

    assert extract(path, "bom.txt").text == "Hello été"


def test_utf16_with_byte_order_mark_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "notepad.txt"
    path.write_bytes("Unicode text from Notepad".encode("utf-16"))

    assert extract(path, "notepad.txt").text == "Unicode text from Notepad"


def test_text_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "messy.txt"
    path.write_bytes(
        b"\n\nThe first line  \r\nThe\x00 second line\t\rThe\x07 third line\x1b\n\n"
    )

    assert extract(path, "messy.txt").text == (
        "The first line\nThe second line\nThe third line"
    )


def test_tabs_inside_lines_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "table.txt"
    path.write_text("name\tvalue\n")

    assert extract(path, "table.txt").text == "name\tvalue"


def test_random_bytes_named_txt_are_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "random.txt"
    path.write_bytes(random.Random(1).randbytes(20_000))

    with pytest.raises(UnsupportedFileType) as raised:
        extract(path, "random.txt")

    assert "binary data" in raised.value.message


def test_binary_named_txt_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(b"ab" + b"\x00\x01\x02\x00" * 1000)

    with pytest.raises(UnsupportedFileType) as raised:
        extract(path, "data.txt")

    assert "binary data" in raised.value.message


def test_binary_after_text_head_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(b"a" * 10_000 + b"\x00" * 10_000)

    with pytest.raises(UnsupportedFileType) as raised:
        extract(path, "data.txt")

    assert "binary data" in raised.value.message


def test_whitespace_only_text_contains_no_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(b"  \n\t\n\r\n  \f \n")

    with pytest.raises(UnreadableDocument) as raised:
        extract(path, "blank.txt")

    assert "contains no text" in raised.value.message


# --- File type detection ---------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "head", "kind"),
    [
        ("paper.pdf", b"%PDF-1.7\n", "pdf"),
        ("paper.txt", b"%PDF-1.4\n", "pdf"),
        ("paper", b"%PDF-1.4\n", "pdf"),
        ("damaged.pdf", b"garbage", "pdf"),
        ("report.docx", b"PK\x03\x04\x14\x00", "docx"),
        ("report.DOCX", b"PK\x03\x04\x14\x00", "docx"),
        ("report", b"PK\x03\x04" + b"\x00" * 26 + b"word/document.xml", "docx"),
        ("empty.docx", b"PK\x05\x06" + b"\x00" * 18, "docx"),
        ("damaged.docx", b"not a zip", "docx"),
        ("notes.txt", b"Hello", "text"),
        ("notes.md", b"# Title", "text"),
        ("NOTES.MD", b"# Title", "text"),
        ("notes.markdown", b"# Title", "text"),
        ("notes.text", b"Hello", "text"),
        ("notes.txt", b"", "text"),
        ("notes.txt", b"\xff\xfeH\x00i\x00", "text"),
    ],
)
def test_detect_kind_accepts(filename: str, head: bytes, kind: str) -> None:
    assert detect_kind(filename, head) == kind


@pytest.mark.parametrize(
    ("filename", "head", "named_type"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", "PNG images"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "PNG images"),
        ("photo.jpg", b"\xff\xd8\xff\xe0", "JPEG images"),
        ("setup.exe", b"MZ\x90\x00\x03\x00", ".exe files"),
        ("budget.xlsx", b"PK\x03\x04\x14\x00", ".xlsx files"),
        ("archive.zip", b"PK\x03\x04\x14\x00", "ZIP archives"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "(.doc)"),
        ("old.doc", b"", "(.doc)"),
        ("budget.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Office 97-2003"),
        ("letter.rtf", b"{\\rtf1\\ansi", "Rich Text Format"),
        ("data.csv", b"a,b,c\n", ".csv files"),
        ("README", b"Hello", "without an extension"),
        ("dump.txt", b"ab\x00\x00\x00\x00\x00\x00", "binary data"),
    ],
)
def test_detect_kind_rejects(filename: str, head: bytes, named_type: str) -> None:
    with pytest.raises(UnsupportedFileType) as raised:
        detect_kind(filename, head)

    message = raised.value.message
    assert named_type in message
    assert "PDF" in message
    assert "(.txt)" in message
    assert "(.md)" in message


def test_detect_kind_png_message_lists_accepted_types() -> None:
    with pytest.raises(UnsupportedFileType) as raised:
        detect_kind("photo.png", b"\x89PNG\r\n\x1a\n")

    assert raised.value.message == (
        "PNG images are not supported. Upload a PDF, Word (.docx), plain text "
        "(.txt) or Markdown (.md) file."
    )


def test_extract_rejects_png_named_txt(tmp_path: Path) -> None:
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)

    with pytest.raises(UnsupportedFileType):
        extract(path, "photo.txt")


# --- page_for_offset -------------------------------------------------------


def test_page_for_offset_maps_boundaries() -> None:
    pages = [(0, 10), (10, 25), (25, 30)]

    assert page_for_offset(pages, 0) == 1
    assert page_for_offset(pages, 9) == 1
    assert page_for_offset(pages, 10) == 2
    assert page_for_offset(pages, 24) == 2
    assert page_for_offset(pages, 25) == 3
    assert page_for_offset(pages, 29) == 3


def test_page_for_offset_skips_empty_pages() -> None:
    pages = [(0, 10), (10, 10), (10, 20), (20, 20)]

    assert page_for_offset(pages, 9) == 1
    assert page_for_offset(pages, 10) == 3
    assert page_for_offset(pages, 19) == 3


@pytest.mark.parametrize("offset", [-1, 30, 31])
def test_page_for_offset_rejects_outside_text(offset: int) -> None:
    with pytest.raises(ValueError):
        page_for_offset([(0, 10), (10, 30)], offset)


def test_page_for_offset_rejects_empty_pages_list() -> None:
    with pytest.raises(ValueError):
        page_for_offset([], 0)
