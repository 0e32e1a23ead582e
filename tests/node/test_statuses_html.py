"""Remote HTML kept as Mastodon keeps it (``MASTODON_STRICT``), whatever a server sends."""

from __future__ import annotations

import pytest

from node.statuses.html import plain_text, sanitize

LINK = 'target="_blank" rel="nofollow noopener"'


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        # scripts, styles and templates go with their content
        ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
        ("<style>p{color:red}</style><p>a</p>", "<p>a</p>"),
        ("<template><p>hidden</p></template><p>a</p>", "<p>a</p>"),
        # event handlers, styles, ids: attributes Mastodon does not keep
        ('<p onclick="x()" style="color:red" id="i">a</p>', "<p>a</p>"),
        ('<b onmouseover="x()">a</b>', "<b>a</b>"),
        # elements not kept are unwrapped, their text stays; images and frames show nothing
        ('<div><img src="x" onerror="alert(1)">a</div>', "a"),
        ('<iframe src="https://evil.example"></iframe><p>a</p>', "<p>a</p>"),
        ('<form action="/x"><input name="q" value="v"><button>go</button></form>', "go"),
        ("<svg><script>alert(1)</script><text>t</text></svg>", ""),  # foreign content: dropped
        ('<object data="x.swf"></object><embed src="x.swf"><p>a</p>', "<p>a</p>"),
        ("<table><tr><td>cell</td></tr></table>", "cell"),
        # links: allowed schemes get Mastodon's rel and target; others become their text
        ('<a href="https://x.example/">x</a>', f'<a href="https://x.example/" {LINK}>x</a>'),
        ('<a href="gemini://x.example/">g</a>', f'<a href="gemini://x.example/" {LINK}>g</a>'),
        ('<a href="javascript:alert(1)">j</a>', "j"),
        ('<a href="JaVaScRiPt:alert(1)">j</a>', "j"),
        ('<a href="data:text/html,<script>x</script>">d</a>', "d"),
        ('<a href="vbscript:x">v</a>', "v"),
        ('<a href="/relative">r</a>', "r"),
        (
            '<a href="https://x.example/" rel="me" target="_top">x</a>',
            f'<a href="https://x.example/" {LINK}>x</a>',
        ),
        # classes: microformats, mention, hashtag, ellipsis, invisible; others dropped
        (
            '<a href="https://x.example/@a" class="u-url mention evil">@a</a>',
            f'<a href="https://x.example/@a" class="u-url mention" {LINK}>@a</a>',
        ),
        ('<span class="h-card big">c</span>', '<span class="h-card">c</span>'),
        (
            '<span class="invisible">https://</span><span class="ellipsis">x</span>',
            '<span class="invisible">https://</span><span class="ellipsis">x</span>',
        ),
        ('<p class="quote-inline">q</p>', '<p class="quote-inline">q</p>'),
        ('<span class="red">c</span>', "<span>c</span>"),
        # translate only as "no"; lang anywhere
        (
            '<span translate="no">n</span><span translate="yes">y</span>',
            '<span translate="no">n</span><span>y</span>',
        ),
        ('<p lang="de">Hallo</p>', '<p lang="de">Hallo</p>'),
        # headings become strong paragraphs; lists keep start, reversed, value
        ("<h1>T</h1>", "<p><strong>T</strong></p>"),
        ("<h6>t</h6><p>b</p>", "<p><strong>t</strong></p><p>b</p>"),
        (
            '<ol start="3" reversed><li value="5">x</li></ol>',
            '<ol start="3" reversed=""><li value="5">x</li></ol>',
        ),
        # what Mastodon keeps stays as it is
        (
            "<p>a<br>b</p><blockquote><p>q</p></blockquote><pre><code>c</code></pre>",
            "<p>a<br>b</p><blockquote><p>q</p></blockquote><pre><code>c</code></pre>",
        ),
        (
            "<del>d</del><s>s</s><u>u</u><i>i</i><em>e</em><strong>s</strong>",
            "<del>d</del><s>s</s><u>u</u><i>i</i><em>e</em><strong>s</strong>",
        ),
        (
            "<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>",
            "<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>",
        ),
        # nested junk, unclosed tags, comments, entities
        ("<b><i>x</b></i>", "<b><i>x</i></b>"),
        ("<p>open <b>bold", "<p>open <b>bold</b></p>"),
        ("<p>a<!-- <script>x</script> -->b</p>", "<p>ab</p>"),
        ("<p>1 &lt; 2 &amp; &quot;3&quot;</p>", '<p>1 &lt; 2 &amp; "3"</p>'),
        ("x < y > z", "x &lt; y &gt; z"),
        ("", ""),
    ],
)
def test_hostile_and_ordinary_html(given: str, kept: str) -> None:
    assert sanitize(given) == kept


def test_sanitising_twice_changes_nothing() -> None:
    once = sanitize('<h2>T</h2><p><a href="https://x.example" class="mention">m</a></p>')
    assert sanitize(once) == once


def test_a_huge_fragment_is_cut_before_it_is_parsed_and_stays_well_formed() -> None:
    kept = sanitize("<p>" + "<b>x</b>" * 50_000 + "</p>")
    assert kept.startswith("<p><b>x</b>")
    assert kept.endswith("</p>")
    assert len(kept) < 110_000


def test_plain_text_for_search_and_notifications() -> None:
    html = sanitize(
        '<p>Hi <a href="https://x.example/@cyd" class="u-url mention">@<span>cyd</span></a>,'
        "</p><p>see <b>#compost</b></p><script>x</script>"
    )
    assert plain_text(html) == "Hi @cyd,\nsee #compost"
