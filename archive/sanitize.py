"""The one gate that HTML built from archived text passes before a browser sees it.

Article text is publisher-controlled: a page may contain ``<script>`` as text. The
diff renderer escapes it, and this module then keeps only the handful of tags the
diff and version pages use, so a mistake upstream cannot turn stored text into markup.
"""

from __future__ import annotations

import nh3

# The markup the article page needs: paragraphs and inline insert/delete marks.
ALLOWED_TAGS = frozenset({"p", "br", "ins", "del", "span", "div"})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"*": {"class"}}


def clean_fragment(html: str) -> str:
    """Return ``html`` with every tag, attribute and URL outside the allow-list removed."""
    return str(
        nh3.clean(
            html,
            tags=set(ALLOWED_TAGS),
            clean_content_tags={"script", "style"},
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=set(),
            strip_comments=True,
        )
    )
