#!/usr/bin/env python3
"""Checks the built documentation site in headless Chromium (Debian's chromium).

For every page of site/target/site: Chromium renders it (JavaScript on) and dumps the DOM; the check
fails if a page has no title or heading, links to a local file that does not exist, shows an image
whose file is missing, or renders blank (the screenshot, decoded here, must not be one flat colour).
The pages listed in REQUIRED must exist and contain their phrase. Screenshots are kept in
site/target/screenshots/ for people to look at. Usage: python3 site/check-site.py [SITE_DIR]
"""
import html.parser
import os
import struct
import subprocess
import sys
import tempfile
import urllib.parse
import zlib

REQUIRED = {
    "index.html": "ScaleNet",
    "scalenet.html": "Why the sharing lives inside one layer",
    "library.html": "Training in a plain DL4J loop",
    "MODEL_CARD.html": "SHA-256",
    "experiment.html": "ScaleNet 2L, E/3, function-preserving",
    "benchmarks.html": "SGEMM",
    "scaling-out.html": "ParallelWrapper",
    "deploying.html": "OrtSession",
    "plugin-info.html": "scalenet:expand",
    "reliability.html": "without Java deserialization",
    "architecture.html": "Adding a kind of adjustment",
}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.title, self.in_title, self.headings, self.links, self.images, self.text = "", False, 0, [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title":
            self.in_title = True
        if tag in ("h1", "h2"):
            self.headings += 1
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        self.text.append(data)


def chromium(args, user_data):
    return subprocess.run([CHROMIUM, *FLAGS, "--user-data-dir=" + user_data, *args],
                          capture_output=True, text=True, timeout=120)


def png_pixels(path):
    """Decodes an 8-bit, non-interlaced RGB or RGBA PNG into rows of bytes (enough for Chromium's screenshots)."""
    data = open(path, "rb").read()
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            channels = {2: 3, 6: 4}.get(colour, 0)
            if depth != 8 or not channels or interlace:
                raise ValueError(f"{path}: PNG layout not decoded here (depth {depth}, colour {colour})")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return rows, channels


def png_is_flat(path):
    """True if the screenshot is one flat colour: a blank render."""
    rows, channels = png_pixels(path)
    first = rows[0][:channels]
    return all(row == first * (len(row) // channels) for row in rows)


def main():
    site = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "target", "site"))
    shots = os.path.join(os.path.dirname(site), "screenshots")
    os.makedirs(shots, exist_ok=True)
    pages = sorted(f for f in os.listdir(site) if f.endswith(".html"))
    problems = []
    for name, phrase in REQUIRED.items():
        if name not in pages:
            problems.append(f"{name}: missing from {site}")
    with tempfile.TemporaryDirectory() as user_data:
        for name in pages:
            path = os.path.join(site, name)
            url = "file://" + path
            dom = chromium(["--dump-dom", url], user_data)
            if dom.returncode != 0 or not dom.stdout.strip():
                problems.append(f"{name}: chromium could not render it: {dom.stderr.strip()[-300:]}")
                continue
            page = Page()
            page.feed(dom.stdout)
            if not page.title.strip() or page.headings == 0:
                problems.append(f"{name}: no title or no heading")
            if name in REQUIRED and REQUIRED[name] not in "".join(page.text):
                problems.append(f"{name}: does not contain '{REQUIRED[name]}'")
            for ref in page.links + page.images:
                target = urllib.parse.urlparse(ref)
                if target.scheme or ref.startswith("#") or ref.startswith("data:"):
                    continue
                local = os.path.normpath(os.path.join(site, os.path.dirname(name), urllib.parse.unquote(target.path)))
                if target.path and not os.path.exists(local):
                    problems.append(f"{name}: links to {ref}, which is not in the site")
            shot = os.path.join(shots, name[:-5] + ".png")
            chromium(["--window-size=1280,1600", "--hide-scrollbars", "--screenshot=" + shot, url], user_data)
            if not os.path.exists(shot):
                problems.append(f"{name}: no screenshot was taken")
            elif png_is_flat(shot):
                problems.append(f"{name}: renders blank")
    if problems:
        print("site check FAILED:\n  " + "\n  ".join(problems))
        return 1
    print(f"site check passed: {len(pages)} pages rendered in {CHROMIUM}, screenshots in {shots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
