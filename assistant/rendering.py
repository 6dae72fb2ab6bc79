"""Model output to safe HTML: Markdown rendered, then sanitized."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
}
_CITATION_MARK = re.compile(r"\[(\d{1,3})\]")


def render_answer(text: str) -> str:
    """Render Markdown to sanitized HTML with citation marks as links.

    Raw HTML in the text is escaped by the renderer and anything unsafe
    left after rendering is removed by nh3. The citation links are added
    after sanitizing and carry only digits.
    """
    html = nh3.clean(
        _markdown.render(text),
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return _CITATION_MARK.sub(
        r'<a class="cite" href="#cite-\1" data-cite="\1">[\1]</a>', html
    )
