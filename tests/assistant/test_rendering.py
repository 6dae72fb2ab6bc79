from __future__ import annotations

from assistant.rendering import render_answer


def test_markdown_rendered_and_marks_linked():
    html = render_answer("**Trace trees** cover loops. [1][2]")

    assert "<strong>Trace trees</strong>" in html
    assert 'data-cite="1"' in html
    assert 'data-cite="2"' in html


def test_raw_html_and_scripts_are_escaped():
    html = render_answer('<script>alert(1)</script> <img src=x onerror="alert(2)">')

    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_unsafe_link_schemes_are_removed():
    html = render_answer("[click](javascript:alert(1)) [ok](https://example.com)")

    assert 'href="javascript' not in html
    assert 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_marks_inside_link_titles_and_code_stay_text():
    html = render_answer('[t](http://a.example "title [1] x") and `code [2]` then [3]')

    assert 'title="title [1] x"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "<code>code [2]</code>" in html
    assert 'data-cite="3"' in html
    assert 'data-cite="1"' not in html
    assert 'data-cite="2"' not in html
