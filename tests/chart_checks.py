"""Readability of a chart as properties of its drawn artists, not its pixels (matplotlib's version floats).

Every text a figure draws (figure and subfigure texts, legends, panel titles, axis labels, the tick labels
inside the view, texts on the panels) measured with the figure's renderer, so a test can ask whether each is
inside the canvas, whether two of them overlap, and whether any is too small to read.
"""

from __future__ import annotations

import io
from itertools import combinations

import matplotlib.colors as mcolors
import matplotlib.image as mpimg
import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

# The smallest text a chart may print, in points (9 pt at 100 dpi is 12.5 px high): smaller reads as smudge
# in a chat thumbnail.
MIN_FONT_PT = 8.0
# Discord's default attachment limit (platform-contracts.md: 10 MiB per file); Slack's is far above it.
PLATFORM_FILE_LIMIT = 10 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode(png: bytes) -> np.ndarray:
    return mpimg.imread(io.BytesIO(png), format="png")


def _shown(text: Text) -> bool:
    return text.get_visible() and bool(text.get_text().strip())


def _tick_labels(axis) -> list[Text]:
    """The axis's tick labels at positions inside its view (matplotlib keeps others around, undrawn)."""
    low, high = sorted(axis.get_view_interval())
    span = (high - low) * 1e-9
    return [t for t in axis.get_ticklabels() if low - span <= axis.convert_units(_place(t, axis)) <= high + span]


def _place(text: Text, axis) -> float:
    x, y = text.get_position()
    return x if axis.axis_name == "x" else y


def drawn_texts(fig: Figure) -> list[Text]:
    """Every non-empty, visible text ``fig`` draws, after drawing it once (tick labels exist only then)."""
    fig.canvas.draw()
    texts: list[Text] = []
    for part in (fig, *fig.subfigs):
        texts += part.texts
        texts += [t for legend in part.legends for t in legend.get_texts()]
    for ax in dict.fromkeys(ax for part in (fig, *fig.subfigs) for ax in part.axes):  # each once, subfigures' too
        if not ax.get_visible() or not ax.axison and not ax.texts:
            continue
        texts += [c for c in ax.get_children() if isinstance(c, Text)]
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                texts += [axis.label, *_tick_labels(axis)]
    return [t for t in texts if _shown(t)]


def extent(text: Text) -> Bbox:
    return text.get_window_extent(text.get_figure(root=True).canvas.get_renderer())


def covered(text: Text) -> Bbox:
    """What ``text`` covers on the canvas: its words and, when it has one, the box drawn around them (the demo
    badge's red box hides what lies under it as much as its words do)."""
    patch = text.get_bbox_patch()
    if patch is None:
        return extent(text)
    renderer = text.get_figure(root=True).canvas.get_renderer()
    return Bbox.union([extent(text), patch.get_window_extent(renderer)])


def outside_canvas(fig: Figure, texts: list[Text] | None = None) -> list[str]:
    """The texts (of ``texts``, else all drawn) that reach past the canvas's edge, by more than half a pixel."""
    canvas = fig.bbox
    found = []
    for text in drawn_texts(fig) if texts is None else texts:
        box = covered(text)
        if box.x0 < canvas.x0 - 0.5 or box.y0 < canvas.y0 - 0.5 or box.x1 > canvas.x1 + 0.5 \
                or box.y1 > canvas.y1 + 0.5:
            found.append(text.get_text())
    return found


def overlapping(texts: list[Text]) -> list[tuple[str, str]]:
    """Pairs of ``texts`` whose boxes overlap by more than a pixel each way."""
    boxes = [(t.get_text(), covered(t)) for t in texts]
    return [(a, b) for (a, box_a), (b, box_b) in combinations(boxes, 2)
            if min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0) > 1.0
            and min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0) > 1.0]


def solid_texts(fig: Figure) -> list[Text]:
    """The drawn texts meant to be read on their own: all but the translucent demo watermark, which is meant
    to lie across the panels."""
    return [t for t in drawn_texts(fig) if (t.get_alpha() is None or t.get_alpha() >= 1.0)]


def too_small(fig: Figure) -> list[tuple[str, float]]:
    return [(t.get_text(), t.get_fontsize()) for t in drawn_texts(fig) if t.get_fontsize() < MIN_FONT_PT]


def same_colour(a, b) -> bool:
    return np.allclose(mcolors.to_rgba(a), mcolors.to_rgba(b))


def contrast(colour, background="white") -> float:
    """WCAG contrast ratio of ``colour`` on ``background`` (1 to 21; 3 is the floor for large text)."""
    def luminance(c) -> float:
        rgb = np.array(mcolors.to_rgb(c))
        linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    high, low = sorted((luminance(colour), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def outline_boxes(collection) -> list[Bbox]:
    """Window extents of each outline of a ``PathCollection`` of text drawn as outlines (one path per label,
    in points, placed at its offset)."""
    to_pixels = collection.get_transform()
    at = collection.get_offset_transform().transform(collection.get_offsets())
    boxes = []
    for path, (x, y) in zip(collection.get_paths(), at):
        box = to_pixels.transform_path(path).get_extents()
        boxes.append(Bbox.from_extents(box.x0 + x, box.y0 + y, box.x1 + x, box.y1 + y))
    return boxes


def boxes_overlap(a: Bbox, b: Bbox) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 1.0 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1.0


def not_literal(texts: list[Text]) -> list[str]:
    """The texts not drawn as written: a text with two dollar signs (``$10k and $20k``) is typeset as math unless
    told not to be, which drops the signs and italicises what lies between them."""
    found = []
    for text in texts:
        renderer = text.get_figure(root=True).canvas.get_renderer()
        width = renderer.get_text_width_height_descent(text.get_text(), text.get_fontproperties(), ismath=False)[0]
        if abs(extent(text).width - width) > 1.0 and text.get_rotation() == 0:
            found.append(text.get_text())
    return found
