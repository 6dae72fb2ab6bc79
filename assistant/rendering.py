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
_TAG = re.compile(r"(<[^>]*>)")
_TAG_NAME = re.compile(r"<(/?)([a-zA-Z0-9]+)")
_NO_LINKS_INSIDE = {"a", "code", "pre"}


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
    return _link_citation_marks(html)


def _link_citation_marks(html: str) -> str:
    """Turn ``[n]`` in text into citation links, outside tags, links and code.

    Marks inside an attribute (a link's title) or inside a link's text stay
    as they are, so the sanitized markup is never broken.
    """
    parts = _TAG.split(html)
    skipping = 0
    for index, part in enumerate(parts):
        if index % 2:  # a tag
            name = _TAG_NAME.match(part)
            if name and name.group(2).lower() in _NO_LINKS_INSIDE:
                skipping += -1 if name.group(1) else 1
            continue
        if not skipping:
            parts[index] = _CITATION_MARK.sub(
                r'<a class="cite" href="#cite-\1" data-cite="\1">[\1]</a>', part
            )
    return "".join(parts)
