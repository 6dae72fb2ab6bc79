"""Text extraction from uploaded PDF, Word (.docx) and plain-text files.

`extract` returns the whole document text with the character range of each
page, so that chunks and citations can name the page they come from. Every
problem with the file itself is raised as `UnsupportedFileType` or
`UnreadableDocument`, whose `message` is written for the person who uploaded
the file. This module has no Django or database dependency.
"""

from __future__ import annotations

import bisect
import codecs
import logging
import re
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import docx
import pdfplumber
from celery.exceptions import SoftTimeLimitExceeded
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.parser import parse_xml
from lxml import etree
from pdfminer.pdfdocument import (
    PDFEncryptionError,
    PDFPasswordIncorrect,
    PDFTextExtractionNotAllowed,
)
from pdfplumber.page import Page
from pdfplumber.utils.exceptions import PdfminerException

logger = logging.getLogger(__name__)

KIND_PDF = "pdf"
KIND_DOCX = "docx"
KIND_TEXT = "text"

TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".text"})

# Placed at the end of every page but the last, so a page break reads as a
# paragraph break and the page ranges stay contiguous.
PAGE_SEPARATOR = "\n\n"

_ACCEPTED_TYPES = "PDF, Word (.docx), plain text (.txt) or Markdown (.md)"

# Number of leading bytes `extract` passes to `detect_kind`.
_HEAD_BYTES = 4096


class UnreadableDocument(Exception):
    """A supported file whose text cannot be extracted.

    `message` explains why the text cannot be extracted and what the
    uploader can do about it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedFileType(Exception):
    """A file that is not PDF, Word (.docx), plain text or Markdown.

    `message` names the type received and lists the accepted ones.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ExtractedText:
    """The text of a document and the character range of each page.

    `pages[n - 1]` is the `[start, end)` range of page n. The ranges cover
    `text` contiguously from 0 to `len(text)`, and only the last one can be
    empty.
    """

    text: str
    pages: list[tuple[int, int]]
    kind: str


# Exceptions that must reach the caller unchanged when a parser call is
# wrapped in a broad handler: our own rejections, memory exhaustion, and the
# Celery soft time limit that the extraction task turns into a timeout error.
_PASS_THROUGH_ERRORS = (
    UnreadableDocument,
    UnsupportedFileType,
    MemoryError,
    SoftTimeLimitExceeded,
)


def _log_parser_error(kind: str, error: BaseException) -> None:
    """Log a parser failure by exception class and location only.

    Parser messages can quote the document's content, so they are not logged.
    """
    frames = traceback.extract_tb(error.__traceback__)
    location = (
        f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    )
    logger.warning(
        "The %s parser raised %s.%s at %s",
        kind,
        type(error).__module__,
        type(error).__qualname__,
        location,
    )


# --- File type detection ---------------------------------------------------

_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Formats that are recognised by their signature so that the error can name
# them, whatever the file's extension is.
_BINARY_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG images"),
    (b"\xff\xd8\xff", "JPEG images"),
    (b"GIF87a", "GIF images"),
    (b"GIF89a", "GIF images"),
    (b"II*\x00", "TIFF images"),
    (b"MM\x00*", "TIFF images"),
    (_OLE2_SIGNATURE, "Microsoft Office 97-2003 files (.doc, .xls, .ppt)"),
    (b"{\\rtf", "Rich Text Format (.rtf) files"),
    (b"\x1f\x8b", "gzip archives"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archives"),
    (b"Rar!\x1a\x07", "RAR archives"),
    (b"\x7fELF", "ELF executables"),
)


def _unsupported(description: str, advice: str | None = None) -> UnsupportedFileType:
    advice = advice or f"Upload a {_ACCEPTED_TYPES} file."
    return UnsupportedFileType(f"{description} are not supported. {advice}")


def _unsupported_word_97() -> UnsupportedFileType:
    return _unsupported(
        "Word 97-2003 documents (.doc)",
        "Save the document as .docx in Word and upload that file, or upload a "
        "PDF, plain text (.txt) or Markdown (.md) file.",
    )


# C0 controls that text files do not use, and DEL. About 10% of random or
# compressed bytes are among them. Text in UTF-8 or a single-byte encoding
# has almost none, while executables and UTF-16 text are full of NUL bytes.
_NON_TEXT_BYTES = bytes(range(32)).translate(None, b"\t\n\x0b\x0c\r\x1b") + b"\x7f"


def _looks_binary(data: bytes) -> bool:
    """Return whether more than 5% of the bytes are non-text control bytes."""
    non_text_count = len(data) - len(data.translate(None, _NON_TEXT_BYTES))
    return non_text_count * 20 > len(data)


def _has_utf16_bom(data: bytes) -> bool:
    return data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def detect_kind(filename: str, head: bytes) -> str:
    """Return "pdf", "docx" or "text" for an upload.

    The file's leading bytes in `head` decide first and the extension of
    `filename` second. Signatures take up to 8 bytes (PNG, Office 97-2003),
    so a shorter `head` leaves more files to the extension. The binary-data
    check on text files and the Word part-name check on ZIP files read all
    of `head`.

    Raises UnsupportedFileType for any other type.
    """
    extension = PurePath(filename).suffix.lower()

    if head.startswith(b"%PDF-"):
        return KIND_PDF

    if head.startswith(_ZIP_SIGNATURES):
        # Word files are ZIP packages, and so are .xlsx, .pptx, .odt and
        # .epub files, which only the extension or the part names tell apart.
        if extension == ".docx" or b"word/document.xml" in head:
            return KIND_DOCX
        if extension and extension != ".zip":
            raise _unsupported(f"{extension} files")
        raise _unsupported("ZIP archives")

    for signature, description in _BINARY_SIGNATURES:
        if head.startswith(signature):
            if signature == _OLE2_SIGNATURE and extension == ".doc":
                raise _unsupported_word_97()
            raise _unsupported(description)

    # A damaged PDF or Word file is better reported by its parser, which
    # reports that it cannot be read, than here as an unsupported type.
    if extension == ".pdf":
        return KIND_PDF
    if extension == ".docx":
        return KIND_DOCX
    if extension == ".doc":
        raise _unsupported_word_97()

    if extension in TEXT_EXTENSIONS:
        if not _has_utf16_bom(head) and _looks_binary(head):
            raise UnsupportedFileType(
                f"The file is named {extension} but contains binary data, not "
                f"text. Upload a {_ACCEPTED_TYPES} file."
            )
        return KIND_TEXT

    if extension:
        raise _unsupported(f"{extension} files")
    raise _unsupported("Files without an extension")


# --- Extraction ------------------------------------------------------------


def extract(
    path: Path,
    filename: str,
    max_pages: int = 2000,
    on_page: Callable[[int, int], None] | None = None,
) -> ExtractedText:
    """Extract the text and page ranges of the file stored at `path`.

    `filename` is the name the file was uploaded with; its extension is used
    when the content does not show the type. `max_pages` limits PDFs only,
    because Word files have no fixed pages and plain-text pages (form feeds)
    cost nothing to split.

    `on_page(done, total)` is called after each PDF page, for progress.

    Raises UnsupportedFileType or UnreadableDocument. OSError from reading
    `path` is not caught.
    """
    if max_pages < 1:
        raise ValueError(f"max_pages must be at least 1, got {max_pages}")

    with path.open("rb") as file:
        head = file.read(_HEAD_BYTES)
    kind = detect_kind(filename, head)

    if kind == KIND_PDF:
        page_texts = _read_pdf(path, max_pages, on_page)
    elif kind == KIND_DOCX:
        page_texts = [_read_docx(path)]
    else:
        page_texts = _read_text(path)

    extracted = assemble_pages(page_texts, kind)
    if not extracted.text.strip():
        raise UnreadableDocument(_NO_TEXT_MESSAGES[kind])

    logger.debug(
        "Extracted %d characters on %d pages from a %s file",
        len(extracted.text),
        len(extracted.pages),
        kind,
    )
    return extracted


_NO_TEXT_MESSAGES = {
    KIND_PDF: "The PDF contains no text. Upload a document that contains text.",
    KIND_DOCX: "The Word document contains no text. Upload a document that "
    "contains text.",
    KIND_TEXT: "The file contains no text, only whitespace. Upload a document "
    "that contains text.",
}


def page_for_offset(pages: list[tuple[int, int]], offset: int) -> int:
    """Return the 1-based number of the page whose range contains `offset`.

    `pages` are contiguous `[start, end)` ranges as in `ExtractedText`.
    Raises ValueError for an offset outside `[0, pages[-1][1])`.
    """
    if not pages or offset < 0 or offset >= pages[-1][1]:
        end = pages[-1][1] if pages else 0
        raise ValueError(f"Offset {offset} is outside the text range [0, {end})")
    # The first page whose end lies past the offset; this skips empty pages.
    return bisect.bisect_right(pages, offset, key=lambda page: page[1]) + 1


_NEWLINES = re.compile(r"\r\n?")
# C0 controls except tab and newline, DEL, and the C1 controls that a
# Latin-1 decoding produces from bytes that cp1252 leaves undefined.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TRAILING_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)


def _normalise(text: str) -> str:
    """Return `text` with Unix newlines, no control characters and no
    whitespace at the end of a line."""
    text = _NEWLINES.sub("\n", text)
    text = _CONTROL_CHARS.sub("", text)
    return _TRAILING_SPACE.sub("", text)


def assemble_pages(page_texts: list[str], kind: str) -> ExtractedText:
    """Normalise the pages and join them into one text with page ranges."""
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    offset = 0
    last_index = len(page_texts) - 1

    for index, raw_text in enumerate(page_texts):
        page_text = _normalise(raw_text).lstrip("\n").rstrip()
        if index < last_index:
            page_text += PAGE_SEPARATOR
        parts.append(page_text)
        pages.append((offset, offset + len(page_text)))
        offset += len(page_text)

    return ExtractedText(text="".join(parts), pages=pages, kind=kind)


# --- PDF -------------------------------------------------------------------

# pdfplumber's default word gap of 3 pt (`x_tolerance`) fuses the words of
# pdfTeX output, whose spaces can be narrower ("AndreasGal"). A gap relative
# to the font size keeps them apart. `use_text_flow` keeps the order of the
# content stream, which reads a two-column paper column by column. The
# default order sorts each line across both columns instead.
_PDF_TEXT_OPTIONS: dict[str, Any] = {"x_tolerance_ratio": 0.15, "use_text_flow": True}

# pdfminer's stand-in for a glyph whose font has no mapping to Unicode.
_UNMAPPED_GLYPH = re.compile(r"\(cid:\d+\)")


def _read_pdf(
    path: Path, max_pages: int, on_page: Callable[[int, int], None] | None
) -> list[str]:
    """Return the raw text of each page of the PDF at `path`."""
    try:
        with pdfplumber.open(path) as pdf:
            return _read_pdf_pages(pdf, max_pages, on_page)
    except _PASS_THROUGH_ERRORS:
        raise
    except Exception as error:
        # pdfminer reports a damaged file with whatever exception the broken
        # structure triggers, such as KeyError, TypeError, struct.error or
        # zlib.error besides its own PDFSyntaxError, so there is no narrower
        # class to catch.
        raise _unreadable_pdf(error) from error


def _unreadable_pdf(error: Exception) -> UnreadableDocument:
    # pdfplumber.open wraps pdfminer's exception in PdfminerException.
    cause = error
    if isinstance(error, PdfminerException) and error.args:
        if isinstance(error.args[0], Exception):
            cause = error.args[0]

    if isinstance(cause, PDFPasswordIncorrect):
        return UnreadableDocument(
            "The PDF is protected with a password. Remove the password and "
            "upload it again."
        )
    if isinstance(cause, PDFEncryptionError):
        return UnreadableDocument(
            "The PDF is encrypted with a method that cannot be decrypted. "
            "Remove the password or encryption and upload it again."
        )
    if isinstance(cause, PDFTextExtractionNotAllowed):
        return UnreadableDocument(
            "The PDF's permissions do not allow copying its text. Remove the "
            "restrictions and upload it again."
        )

    _log_parser_error(KIND_PDF, cause)
    return UnreadableDocument(
        "The PDF could not be read because the file is damaged or is not a "
        "valid PDF. Save or export it as PDF again and upload the new file."
    )


def _read_pdf_pages(
    pdf: pdfplumber.PDF, max_pages: int, on_page: Callable[[int, int], None] | None
) -> list[str]:
    page_count = len(pdf.pages)
    if page_count > max_pages:
        raise UnreadableDocument(
            f"The PDF has {page_count} pages, more than the maximum of "
            f"{max_pages}. Split it into smaller files and upload them "
            "separately."
        )

    page_texts: list[str] = []
    has_images = False
    has_unmapped_glyphs = False

    for number, page in enumerate(pdf.pages, start=1):
        text = _pdf_page_text(page, number)
        text, unmapped_count = _UNMAPPED_GLYPH.subn("", text)
        has_unmapped_glyphs = has_unmapped_glyphs or unmapped_count > 0
        if not text.strip():
            has_images = has_images or bool(page.images)
        page_texts.append(text)
        # Drop the page's parsed objects so memory stays bounded by one page.
        page.close()
        if on_page is not None:
            on_page(number, page_count)

    if not any(_normalise(text).strip() for text in page_texts):
        raise _pdf_without_text(has_unmapped_glyphs, has_images)
    return page_texts


def _pdf_page_text(page: Page, number: int) -> str:
    visible_page = _visible_part(page)
    try:
        return visible_page.extract_text(**_PDF_TEXT_OPTIONS)
    except _PASS_THROUGH_ERRORS:
        raise
    except Exception as error:
        # The simpler algorithm skips the word clustering, so it can succeed
        # on pages whose character boxes upset `extract_text`. If it fails
        # too, the error reaches `_read_pdf` and rejects the file.
        logger.warning(
            "extract_text failed on PDF page %d with %s, retrying with "
            "extract_text_simple",
            number,
            type(error).__name__,
        )
        return visible_page.extract_text_simple()


def _visible_part(page: Page) -> Page:
    """Return a view of `page` without the characters drawn off the page.

    No viewer shows text placed outside the page box. Such text would
    otherwise pass for a text layer, as the "Background" label above each
    page of a scan made with ImageMagick did.
    """
    x0, top, x1, bottom = page.bbox
    if x1 <= x0 or bottom <= top:
        # A page box of zero area is malformed, so it cannot locate the text.
        return page

    def is_visible(obj: dict[str, Any]) -> bool:
        if obj.get("object_type") != "char":
            return True
        return (
            obj["x1"] > x0
            and obj["x0"] < x1
            and obj["bottom"] > top
            and obj["top"] < bottom
        )

    return page.filter(is_visible)


def _pdf_without_text(
    has_unmapped_glyphs: bool, has_images: bool
) -> UnreadableDocument:
    if has_unmapped_glyphs:
        return UnreadableDocument(
            "The PDF's fonts do not map their characters to text, so no text "
            "can be extracted. Run OCR (text recognition) on it first and "
            "upload the result."
        )
    if has_images:
        return UnreadableDocument(
            "The PDF has no text layer because its pages are scanned images. "
            "Run OCR (text recognition) on it first and upload the result."
        )
    return UnreadableDocument(_NO_TEXT_MESSAGES[KIND_PDF])


# --- Word (.docx) ----------------------------------------------------------

# python-docx reads every part of the package into memory, so the sizes that
# the ZIP directory declares are checked first. Python's zipfile (3.11,
# ZipExtFile) stops decompressing a member at its declared size, so the
# check also bounds a ZIP bomb. The limit is a guess at what any real
# document stays under.
_MAX_DOCX_UNPACKED_BYTES = 256 * 1024 * 1024

_INVALID_DOCX_MESSAGE = (
    "The file is not a valid Word document. Open it in Word, save it as "
    ".docx and upload it again."
)

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_PARAGRAPH = f"{{{_W}}}p"
_TABLE = f"{{{_W}}}tbl"
_TABLE_ROW = f"{{{_W}}}tr"
_TABLE_CELL = f"{{{_W}}}tc"
_CONTENT_CONTROL = f"{{{_W}}}sdt"
_CONTENT_CONTROL_CONTENT = f"{{{_W}}}sdtContent"
_CUSTOM_XML = f"{{{_W}}}customXml"
_NOTE_TYPE = f"{{{_W}}}type"
_SEPARATOR_NOTE_TYPES = {"separator", "continuationSeparator", "continuationNotice"}

# Run content anywhere in a paragraph, so that text inside hyperlinks,
# tracked insertions and inline content controls is kept. Deleted text is
# stored as w:delText and so is left out. mc:Fallback repeats the content of
# the mc:Choice next to it for older readers, so it is skipped.
_RUN_CONTENT = etree.XPath(
    ".//w:r/*[self::w:t or self::w:tab or self::w:br or self::w:cr"
    " or self::w:noBreakHyphen][not(ancestor::mc:Fallback)]",
    namespaces={
        "w": _W,
        "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    },
)
_RUN_CONTENT_TEXT = {
    f"{{{_W}}}tab": "\t",
    f"{{{_W}}}br": "\n",
    f"{{{_W}}}cr": "\n",
    f"{{{_W}}}noBreakHyphen": "-",
}


def _read_docx(path: Path) -> str:
    """Return the body text of the Word file at `path`, then its notes.

    Paragraphs and tables appear in body order with a blank line between
    them, and each table row is one line with its cells separated by " | ".
    Footnotes and endnotes follow the body. Headers, footers and comments are
    left out.
    """
    _check_docx_size(path)
    try:
        document = docx.Document(str(path))
        blocks = list(_block_texts(document.element.body))
        blocks.extend(_note_texts(document))
    except _PASS_THROUGH_ERRORS:
        raise
    except Exception as error:
        # python-docx raises PackageNotFoundError, KeyError for a missing
        # part, ValueError for a package of another type and lxml errors for
        # broken XML, with nothing in common but Exception.
        _log_parser_error(KIND_DOCX, error)
        raise UnreadableDocument(_INVALID_DOCX_MESSAGE) from error

    return "\n\n".join(block for block in blocks if block)


def _check_docx_size(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked_bytes = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as error:
        raise UnreadableDocument(_INVALID_DOCX_MESSAGE) from error

    if unpacked_bytes > _MAX_DOCX_UNPACKED_BYTES:
        raise UnreadableDocument(
            f"The Word document unpacks to {unpacked_bytes // 1048576} MB, more "
            f"than the maximum of {_MAX_DOCX_UNPACKED_BYTES // 1048576} MB. "
            "Remove large images or split the document, then upload it again."
        )


def _block_texts(container: etree._Element) -> Iterator[str]:
    """Yield the text of each paragraph and table directly in `container`."""
    for child in container.iterchildren():
        if child.tag == _PARAGRAPH:
            yield _paragraph_text(child)
        elif child.tag == _TABLE:
            yield _table_text(child)
        elif child.tag == _CONTENT_CONTROL:
            content = child.find(_CONTENT_CONTROL_CONTENT)
            if content is not None:
                yield from _block_texts(content)
        elif child.tag == _CUSTOM_XML:
            yield from _block_texts(child)


def _paragraph_text(paragraph: etree._Element) -> str:
    parts = [
        _RUN_CONTENT_TEXT.get(element.tag, element.text or "")
        for element in _RUN_CONTENT(paragraph)
    ]
    return "".join(parts).strip()


def _table_text(table: etree._Element) -> str:
    rows: list[str] = []
    for row in table.iterchildren(_TABLE_ROW):
        cells = [
            " ".join(block for block in _block_texts(cell) if block)
            for cell in row.iterchildren(_TABLE_CELL)
        ]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _note_texts(document: Any) -> list[str]:
    """Return the paragraphs of the footnotes, then of the endnotes."""
    texts: list[str] = []
    for relationship_type in (RELATIONSHIP_TYPE.FOOTNOTES, RELATIONSHIP_TYPE.ENDNOTES):
        for relationship in document.part.rels.values():
            if relationship.is_external or relationship.reltype != relationship_type:
                continue
            notes = parse_xml(relationship.target_part.blob)
            for note in notes.iterchildren():
                # Word stores the separator lines above the notes as notes.
                if note.get(_NOTE_TYPE) in _SEPARATOR_NOTE_TYPES:
                    continue
                texts.extend(_block_texts(note))
    return texts


# --- Plain text and Markdown -----------------------------------------------


def _read_text(path: Path) -> list[str]:
    """Return the pages of the text file at `path`, split at form feeds."""
    pages = _decode_text(path.read_bytes()).split("\f")
    # A form feed that ends the file closes the last page; it does not start
    # an empty one.
    if len(pages) > 1 and not pages[-1].strip():
        pages.pop()
    return pages


def _decode_text(data: bytes) -> str:
    """Decode `data` as UTF-8, or as cp1252 or Latin-1 when it is not UTF-8.

    A byte order mark selects UTF-8 or UTF-16 outright. Raises
    UnsupportedFileType for binary data.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if _has_utf16_bom(data):
        return data.decode("utf-16", errors="replace")

    # NOTE: UTF-16 text without a byte order mark is mostly NUL bytes when
    # it is in a Latin script, so it is rejected here as binary.
    if _looks_binary(data):
        raise UnsupportedFileType(
            f"The file contains binary data, not text. Upload a {_ACCEPTED_TYPES} file."
        )

    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    # cp1252 leaves five byte values undefined; Latin-1 decodes every byte.
    logger.debug("Decoded a text file as Latin-1")
    return data.decode("latin-1")
