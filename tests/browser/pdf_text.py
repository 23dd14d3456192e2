"""What a PDF printed by Chromium shows: each page's size and its text runs with their x position (points).

Enough of PDF for Chromium's (Skia's) output and nothing more: Flate streams, Type0 fonts with a ToUnicode CMap,
`Tj`/`TJ` text placed by `Tm`/`Td` under `cm` scaling. No PDF library is needed (none is in the project).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
TOKEN = re.compile(rb"<[0-9A-Fa-f]*>|\[|\]|/[^\s/\[\]<>()]+|[-+]?\d*\.?\d+|[A-Za-z*'\"]+")


@dataclass
class Page:
    width: float
    height: float
    runs: list[tuple[float, str]]  # (x in points from the page's left edge, text)

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.runs)


def _cmap(data: bytes) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for source, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[source.decode().upper()] = bytes.fromhex(target.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, start in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = int(start, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[f"{code:04X}"] = chr(first + offset)
    return mapping


def pdf_pages(pdf: bytes) -> list[Page]:
    objects = {int(number): body for number, body in OBJECT.findall(pdf)}

    def stream(number: int) -> bytes:
        found = STREAM.search(objects[number])
        assert found, f"object {number} has no stream"
        return zlib.decompress(found.group(1))

    pages = []
    for body in objects.values():
        if not re.search(rb"/Type /Page\b", body):
            continue
        box = [float(v) for v in re.search(rb"/MediaBox \[([^\]]+)\]", body).group(1).split()]  # type: ignore[union-attr]
        fonts = {
            name.decode(): _cmap(stream(int(re.search(rb"/ToUnicode (\d+) 0 R", objects[int(ref)]).group(1))))  # type: ignore[union-attr]
            for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", body)
        }
        contents = [int(ref) for ref in re.findall(rb"/Contents (\d+) 0 R", body)]
        runs: list[tuple[float, str]] = []
        for ref in contents:
            runs += _runs(stream(ref), fonts)
        pages.append(Page(box[2] - box[0], box[3] - box[1], runs))
    return pages


def _runs(content: bytes, fonts: dict[str, dict[str, str]]) -> list[tuple[float, str]]:
    """Text runs with their x on the page: only scaling and translation matter for Chromium's output."""
    ctm, saved = (1.0, 0.0), []  # x scale and x translation of the current transformation
    line_x = text_x = 0.0
    font: dict[str, str] = {}
    operands: list[bytes] = []
    runs: list[tuple[float, str]] = []
    array: list[bytes] | None = None
    for token in TOKEN.findall(content):
        if token == b"[":
            array = []
            continue
        if token == b"]":
            operands.append(b"".join(entry for entry in (array or []) if entry.startswith(b"<")))
            array = None
            continue
        if array is not None:
            array.append(token)
            continue
        if token[:1].isalpha() or token in (b"'", b'"'):
            op = token.decode()
            if op == "q":
                saved.append(ctm)
            elif op == "Q" and saved:
                ctm = saved.pop()
            elif op == "cm":
                a, e = float(operands[-6]), float(operands[-2])
                ctm = (ctm[0] * a, ctm[0] * e + ctm[1])
            elif op == "Tf":
                font = fonts.get(operands[-2].decode().lstrip("/"), {})
            elif op == "Tm":
                line_x = text_x = float(operands[-2])
            elif op == "Td":
                line_x += float(operands[-2])
                text_x = line_x
            elif op in ("Tj", "TJ"):
                hexes = re.findall(rb"[0-9A-Fa-f]{4}", operands[-1])
                text = "".join(font.get(code.decode().upper(), "?") for code in hexes)
                runs.append((ctm[0] * text_x + ctm[1], text))
            operands = []
        else:
            operands.append(token)
    return runs
