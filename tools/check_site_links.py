"""Check every internal link of a built documentation site (``mkdocs build`` output).

``mkdocs build --strict`` checks the links of Markdown pages, but not those inside
rendered notebooks or generated pages; this reads the HTML that was actually built.
For every ``href``/``src`` of every ``.html`` file under the site folder that points
inside the site (no scheme, not ``//host``), the target file must exist (a folder
means its ``index.html``) and a ``#fragment`` must be an ``id`` (or ``<a name>``) of
the target page.

Usage::

    python tools/check_site_links.py site/

Prints one line per broken link (``page: link (why)``) and exits 1 when there is any,
else prints a count and exits 0.
"""

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

_LINK_ATTRIBUTES = {
    "a": "href",
    "link": "href",
    "img": "src",
    "script": "src",
    "iframe": "src",
    "source": "src",
}


class _PageParser(HTMLParser):
    """The links and the anchor names of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.anchors = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name" if tag == "a" else None):
            if name and attrs.get(name):
                self.anchors.add(attrs[name])
        wanted = _LINK_ATTRIBUTES.get(tag)
        if wanted and attrs.get(wanted):
            self.links.append(attrs[wanted])


def _parse(path):
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def _is_internal(link):
    parts = urlsplit(link)
    return not parts.scheme and not parts.netloc and not link.startswith("//")


def _target(site, page, link):
    """The file ``link`` on ``page`` names, and its fragment; None when it leaves the site."""
    parts = urlsplit(link)
    path = unquote(parts.path)
    if not path:
        return page, unquote(parts.fragment)
    base = site if path.startswith("/") else page.parent
    target = (base / path.lstrip("/")).resolve()
    if site.resolve() not in (target, *target.parents):
        return None, None
    if target.is_dir() or path.endswith("/"):
        target = target / "index.html"
    return target, unquote(parts.fragment)


def broken_links(site):
    """``[(page, link, why), ...]`` for every internal link of the site that leads nowhere."""
    site = Path(site)
    pages = sorted(site.rglob("*.html"))
    if not pages:
        raise SystemExit(
            f"check_site_links: no .html files under {site}; build the site first (mkdocs build)."
        )
    parsed = {page.resolve(): _parse(page) for page in pages}
    broken = []
    for page in pages:
        for link in parsed[page.resolve()].links:
            if not _is_internal(link):
                continue
            target, fragment = _target(site, page.resolve(), link)
            if target is None:
                broken.append((page, link, "points outside the site"))
            elif not target.is_file():
                broken.append((page, link, "no such page or file"))
            elif fragment and target.suffix == ".html":
                anchors = parsed[target].anchors if target in parsed else _parse(target).anchors
                if fragment not in anchors:
                    where = target.relative_to(site.resolve()).as_posix()
                    broken.append((page, link, f"no anchor #{fragment} in {where}"))
    return broken


def main(argv=None):
    """Check the site folder named in ``argv`` (default ``site``); returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    site = Path(argv[0] if argv else "site")
    broken = broken_links(site)
    for page, link, why in broken:
        print(f"{page.relative_to(site)}: {link} ({why})")
    if broken:
        print(f"check_site_links: {len(broken)} broken internal link(s) in {site}", file=sys.stderr)
        return 1
    n_pages = len(list(site.rglob("*.html")))
    print(f"check_site_links: every internal link of {n_pages} pages in {site} resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
