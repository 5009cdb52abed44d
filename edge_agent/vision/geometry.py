"""Plane geometry in normalised image coordinates (x right, y down), shared by lines and zones.

Kept free of OpenCV so counting logic can be tested, and reasoned about, without images.
"""

from __future__ import annotations

from collections.abc import Sequence

Point = tuple[float, float]


def cross(a: Point, b: Point, p: Point) -> float:
    """cross(B - A, P - A): > 0 on the `in` side of A->B (to its right as seen on the screen, y down)."""
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def signed_distance(a: Point, b: Point, p: Point) -> float:
    """Distance of `p` from the infinite line A-B, signed like `cross`."""
    length = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
    return float(cross(a, b, p) / length)


def crossing_param(a: Point, b: Point, p: Point, q: Point) -> float | None:
    """Where the path P->Q meets the infinite line A-B, as t along A->B (0 at A, 1 at B).

    None when the path is parallel (or within rounding of parallel) to the line, or has no length. A t outside
    [0, 1] means the path passed beside the segment, which is how a walker going round the end of
    a line is told from one crossing it.
    """
    ab = (b[0] - a[0], b[1] - a[1])
    pq = (q[0] - p[0], q[1] - p[1])
    # cross(B - A, Q - P) = cross(a, b, q) - cross(a, b, p), computed so that swapping A and B
    # flips its sign exactly: "parallel" must not depend on which way the line was drawn
    turn = ab[0] * pq[1] - ab[1] * pq[0]
    step = (pq[0] ** 2 + pq[1] ** 2) ** 0.5
    if step < 1e-12 or abs(turn) <= 1e-9 * (ab[0] ** 2 + ab[1] ** 2) ** 0.5 * step:
        return None  # no step, or parallel, or so nearly that rounding would decide where they meet
    s = -cross(a, b, p) / turn
    x = p[0] + s * pq[0]
    y = p[1] + s * pq[1]
    return ((x - a[0]) * ab[0] + (y - a[1]) * ab[1]) / (ab[0] ** 2 + ab[1] ** 2)


def point_in_polygon(p: Point, poly: Sequence[Point]) -> bool:
    """Even-odd ray casting; points exactly on an edge may fall either way."""
    x, y = p
    inside = False
    n = len(poly)
    j = n - 1
    for i in range(n):
        xi, yi = poly[i]
        xj, yj = poly[j]
        if (yi > y) != (yj > y):
            x_at = xi + (y - yi) * (xj - xi) / (yj - yi)
            if x < x_at:
                inside = not inside
        j = i
    return inside


def foot_point(box: Sequence[float], width: float, height: float) -> Point:
    """Bottom-centre of a pixel box [x1, y1, x2, y2, ...], normalised: where a person stands."""
    return ((box[0] + box[2]) / 2.0 / width, box[3] / height)
