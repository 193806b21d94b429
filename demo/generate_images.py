#!/usr/bin/env python3
"""Generate the abstract lead images and author avatars for the demo publication.

Uses only the Python standard library. Output is deterministic: every image is
drawn from fixed parameters and a fixed-seed random generator, so running the
script again produces byte-identical PNG files.

    python3 demo/generate_images.py
"""

import math
import os
import random
import struct
import zlib

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "content", "images")

LEAD_W, LEAD_H = 1200, 675
AVATAR_SIZE = 400


# --------------------------------------------------------------------------
# Colour helpers
# --------------------------------------------------------------------------

def hexc(s):
    s = s.lstrip("#")
    return (int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16))


def mix(a, b, t):
    t = 0.0 if t < 0 else 1.0 if t > 1 else t
    return (
        int(round(a[0] + (b[0] - a[0]) * t)),
        int(round(a[1] + (b[1] - a[1]) * t)),
        int(round(a[2] + (b[2] - a[2]) * t)),
    )


def ramp(stops, t):
    """Piecewise-linear colour ramp. stops: [(position 0..1, colour), ...]."""
    if t <= stops[0][0]:
        return stops[0][1]
    for (p0, c0), (p1, c1) in zip(stops, stops[1:]):
        if t <= p1:
            return mix(c0, c1, (t - p0) / (p1 - p0) if p1 > p0 else 1.0)
    return stops[-1][1]


def smoothstep(e0, e1, x):
    if e0 == e1:
        return 0.0 if x < e0 else 1.0
    t = (x - e0) / (e1 - e0)
    t = 0.0 if t < 0 else 1.0 if t > 1 else t
    return t * t * (3 - 2 * t)


# --------------------------------------------------------------------------
# Canvas
# --------------------------------------------------------------------------

class Canvas:
    def __init__(self, w, h, colour=(0, 0, 0)):
        self.w = w
        self.h = h
        self.buf = bytearray(bytes(colour) * (w * h))

    # -- low level ---------------------------------------------------------
    def blend(self, x, y, c, a):
        if a <= 0.0:
            return
        i = (y * self.w + x) * 3
        b = self.buf
        if a >= 1.0:
            b[i] = c[0]
            b[i + 1] = c[1]
            b[i + 2] = c[2]
            return
        b[i] = int(b[i] + (c[0] - b[i]) * a + 0.5)
        b[i + 1] = int(b[i + 1] + (c[1] - b[i + 1]) * a + 0.5)
        b[i + 2] = int(b[i + 2] + (c[2] - b[i + 2]) * a + 0.5)

    def fill_row_span(self, y, x0, x1, c):
        x0 = max(0, x0)
        x1 = min(self.w, x1)
        if x1 <= x0:
            return
        i = (y * self.w + x0) * 3
        self.buf[i:i + (x1 - x0) * 3] = bytes(c) * (x1 - x0)

    # -- backgrounds --------------------------------------------------------
    def vgradient(self, stops, y0=0, y1=None):
        """Vertical gradient over rows y0..y1 (full width)."""
        y1 = self.h if y1 is None else y1
        span = max(1, y1 - y0 - 1)
        for y in range(max(0, y0), min(self.h, y1)):
            c = ramp(stops, (y - y0) / span)
            self.fill_row_span(y, 0, self.w, c)

    # -- regions under a curve ----------------------------------------------
    def fill_below(self, curve, stops, alpha=1.0, y_ref=None, bottom=None):
        """Fill everything below curve(x) (in pixel rows) with a vertical
        gradient. The gradient runs from y_ref[0] to y_ref[1]. The top edge
        is anti-aliased per column."""
        bottom = self.h if bottom is None else bottom
        if y_ref is None:
            y_ref = (min(curve(x) for x in range(0, self.w, 8)), bottom)
        g0, g1 = y_ref
        gspan = max(1.0, g1 - g0)
        rows = [ramp(stops, (y - g0) / gspan) for y in range(self.h)]
        for x in range(self.w):
            top = curve(x + 0.5)
            yi = int(math.floor(top))
            frac = 1.0 - (top - yi)
            if 0 <= yi < bottom:
                self.blend(x, yi, rows[yi], frac * alpha)
            for y in range(max(0, yi + 1), bottom):
                self.blend(x, y, rows[y], alpha)

    def band(self, top_curve, bottom_curve, colour, alpha=1.0):
        """Fill between two curves with a flat colour (AA on both edges)."""
        for x in range(self.w):
            t = top_curve(x + 0.5)
            b = bottom_curve(x + 0.5)
            if b <= t:
                continue
            yt = int(math.floor(t))
            yb = int(math.floor(b))
            if yt == yb:
                if 0 <= yt < self.h:
                    self.blend(x, yt, colour, (b - t) * alpha)
                continue
            if 0 <= yt < self.h:
                self.blend(x, yt, colour, (1.0 - (t - yt)) * alpha)
            for y in range(max(0, yt + 1), min(self.h, yb)):
                self.blend(x, y, colour, alpha)
            if 0 <= yb < self.h:
                self.blend(x, yb, colour, (b - yb) * alpha)

    # -- signed distance shapes -------------------------------------------
    def sdf_fill(self, sdf, bbox, colour, alpha=1.0, colour_fn=None, soft=0.0):
        """Fill the pixels in bbox where sdf(x, y) < 0, with anti-aliasing.
        soft > 0 widens the edge into a feather of that many pixels."""
        x0, y0, x1, y1 = bbox
        x0 = max(0, int(math.floor(x0)))
        y0 = max(0, int(math.floor(y0)))
        x1 = min(self.w, int(math.ceil(x1)) + 1)
        y1 = min(self.h, int(math.ceil(y1)) + 1)
        edge = 0.5 + soft
        for y in range(y0, y1):
            py = y + 0.5
            for x in range(x0, x1):
                d = sdf(x + 0.5, py)
                if d >= edge:
                    continue
                cov = 1.0 if d <= -edge else (edge - d) / (2 * edge)
                c = colour_fn(x, y) if colour_fn else colour
                self.blend(x, y, c, cov * alpha)

    def circle(self, cx, cy, r, colour, alpha=1.0, colour_fn=None, soft=0.0):
        def sdf(x, y):
            return math.hypot(x - cx, y - cy) - r
        pad = r + soft + 2
        self.sdf_fill(sdf, (cx - pad, cy - pad, cx + pad, cy + pad), colour, alpha, colour_fn, soft)

    def ellipse(self, cx, cy, rx, ry, colour, alpha=1.0, colour_fn=None):
        k = min(rx, ry)

        def sdf(x, y):
            nx = (x - cx) / rx
            ny = (y - cy) / ry
            return (math.hypot(nx, ny) - 1.0) * k
        self.sdf_fill(sdf, (cx - rx - 2, cy - ry - 2, cx + rx + 2, cy + ry + 2), colour, alpha, colour_fn)

    def rrect(self, x0, y0, x1, y1, radius, colour, alpha=1.0, colour_fn=None, soft=0.0):
        cx = (x0 + x1) / 2.0
        cy = (y0 + y1) / 2.0
        hx = (x1 - x0) / 2.0 - radius
        hy = (y1 - y0) / 2.0 - radius

        def sdf(x, y):
            qx = abs(x - cx) - hx
            qy = abs(y - cy) - hy
            outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
            inside = min(max(qx, qy), 0.0)
            return outside + inside - radius
        pad = soft + 2
        self.sdf_fill(sdf, (x0 - pad, y0 - pad, x1 + pad, y1 + pad), colour, alpha, colour_fn, soft)

    def polygon(self, pts, colour, alpha=1.0, colour_fn=None):
        """Convex or concave polygon via exact signed distance."""
        n = len(pts)

        def sdf(x, y):
            d = float("inf")
            inside = False
            for i in range(n):
                ax, ay = pts[i]
                bx, by = pts[(i + 1) % n]
                ex, ey = bx - ax, by - ay
                wx, wy = x - ax, y - ay
                ll = ex * ex + ey * ey
                t = 0.0 if ll == 0 else max(0.0, min(1.0, (wx * ex + wy * ey) / ll))
                dx, dy = wx - ex * t, wy - ey * t
                d = min(d, dx * dx + dy * dy)
                if (ay > y) != (by > y):
                    xint = ax + (y - ay) * ex / ey
                    if x < xint:
                        inside = not inside
            d = math.sqrt(d)
            return -d if inside else d
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        self.sdf_fill(sdf, (min(xs) - 2, min(ys) - 2, max(xs) + 2, max(ys) + 2), colour, alpha, colour_fn)

    def line(self, ax, ay, bx, by, width, colour, alpha=1.0):
        ex, ey = bx - ax, by - ay
        ll = ex * ex + ey * ey
        half = width / 2.0

        def sdf(x, y):
            wx, wy = x - ax, y - ay
            t = max(0.0, min(1.0, (wx * ex + wy * ey) / ll))
            return math.hypot(wx - ex * t, wy - ey * t) - half
        pad = half + 2
        self.sdf_fill(sdf, (min(ax, bx) - pad, min(ay, by) - pad, max(ax, bx) + pad, max(ay, by) + pad),
                      colour, alpha)

    def glow(self, cx, cy, radius, colour, strength=1.0):
        """Soft radial glow with quadratic falloff."""
        x0 = max(0, int(cx - radius))
        x1 = min(self.w, int(cx + radius) + 1)
        y0 = max(0, int(cy - radius))
        y1 = min(self.h, int(cy + radius) + 1)
        r2 = radius * radius
        for y in range(y0, y1):
            dy2 = (y + 0.5 - cy) ** 2
            for x in range(x0, x1):
                d2 = (x + 0.5 - cx) ** 2 + dy2
                if d2 >= r2:
                    continue
                f = 1.0 - math.sqrt(d2) / radius
                self.blend(x, y, colour, f * f * strength)

    # -- output ---------------------------------------------------------------
    def save_png(self, path):
        w, h = self.w, self.h
        stride = w * 3
        raw = bytearray()
        prev = bytes(stride)
        buf = self.buf
        for y in range(h):
            row = bytes(buf[y * stride:(y + 1) * stride])
            # Choose between the Sub and Up filters, whichever leaves more
            # zero bytes. Both are cheap and suit smooth illustrations.
            sub = bytes([row[0], row[1], row[2]]) + bytes(
                (row[i] - row[i - 3]) & 0xFF for i in range(3, stride))
            if y > 0:
                up = bytes((a - b) & 0xFF for a, b in zip(row, prev))
                if up.count(0) > sub.count(0):
                    raw.append(2)
                    raw += up
                    prev = row
                    continue
            raw.append(1)
            raw += sub
            prev = row

        def chunk(kind, data):
            c = struct.pack(">I", len(data)) + kind + data
            return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        png = b"\x89PNG\r\n\x1a\n"
        png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        png += chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        png += chunk(b"IEND", b"")
        with open(path, "wb") as f:
            f.write(png)


# --------------------------------------------------------------------------
# Curve helpers
# --------------------------------------------------------------------------

def wave(base, parts):
    """Sum-of-sines curve. parts: [(amplitude, wavelength, phase), ...]."""
    def f(x):
        y = base
        for amp, wl, ph in parts:
            y += amp * math.sin(2 * math.pi * x / wl + ph)
        return y
    return f


def const(v):
    return lambda x: v


# --------------------------------------------------------------------------
# Lead images (1200 x 675)
# --------------------------------------------------------------------------

W, H = LEAD_W, LEAD_H


def img_seawall_dusk(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("2b1f4a")), (0.45, hexc("7a3e6e")), (0.8, hexc("e0805a")), (1.0, hexc("f4b56a"))],
                0, 420)
    c.glow(820, 400, 260, hexc("ffd59a"), 0.55)
    c.circle(820, 400, 62, hexc("ffe3b0"), soft=1.5)
    # water
    c.vgradient([(0.0, hexc("1f3a66")), (1.0, hexc("0b1730"))], 420, H)
    # reflections of the sun on the water
    for i in range(14):
        y = 440 + i * 16 + i * i * 0.9
        half = 140 - i * 8 + rng.uniform(-10, 10)
        c.rrect(820 - half, y, 820 + half, y + 3 + i * 0.25, 2, hexc("f2a66a"), alpha=0.55 - i * 0.03)
    for i in range(9):
        y = 450 + i * 26
        c.band(wave(y, [(3, 300 + i * 40, i)]), wave(y + 2, [(3, 300 + i * 40, i)]), hexc("3c5f92"), 0.5)
    # the wall
    c.band(wave(392, [(1.2, 900, 0.4)]), const(428), hexc("6f6a78"))
    c.band(const(392), const(398), hexc("8e8896"), 0.8)
    for x in range(40, W, 96):
        c.rrect(x, 404, x + 4, 426, 1, hexc("5c5866"), 0.7)
    return c


def img_harbour_morning(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("f7d9c4")), (0.7, hexc("fbe8d6")), (1.0, hexc("f3cfae"))], 0, 430)
    c.glow(260, 250, 300, hexc("fff3e2"), 0.6)
    c.vgradient([(0.0, hexc("d9b8a0")), (1.0, hexc("9c8a86"))], 430, H)
    palette = [hexc("b5542f"), hexc("c98a3a"), hexc("8e3b2a"), hexc("d8a552"), hexc("6e5a4c")]
    x = 40
    while x < W - 60:
        bw = rng.randint(70, 150)
        stacks = rng.randint(1, 4)
        for s in range(stacks):
            col = palette[rng.randrange(len(palette))]
            top = 430 - (s + 1) * 38
            c.rrect(x, top, x + bw, top + 34, 3, col)
            # reflection, softer and lighter
            rt = 430 + s * 38 + 4
            c.rrect(x, rt, x + bw, rt + 34, 3, mix(col, hexc("d9b8a0"), 0.55), alpha=0.8)
        x += bw + rng.randint(8, 30)
    # crane silhouettes
    for cx in (330, 760):
        c.rrect(cx, 150, cx + 10, 430, 2, hexc("7d4a3a"))
        c.rrect(cx - 120, 150, cx + 160, 162, 2, hexc("7d4a3a"))
        c.line(cx + 5, 150, cx - 60, 96, 4, hexc("7d4a3a"))
    # ripples
    for i in range(12):
        y = 450 + i * 19
        c.band(wave(y, [(2.5, 220 + 13 * i, i * 0.7)]), wave(y + 2.2, [(2.5, 220 + 13 * i, i * 0.7)]),
               hexc("f3dccb"), 0.45)
    return c


def img_ferry_crossing(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("f8eeb8")), (1.0, hexc("fbf6dc"))], 0, 340)
    c.circle(980, 120, 54, hexc("f6d66a"), soft=1.0)
    # distant island
    c.band(wave(285, [(-22, 900, 0.0), (-8, 300, 1.2)]), const(330), hexc("7fa88f"))
    blues = [hexc("7fd1c7"), hexc("4fb5b3"), hexc("2f8fa3"), hexc("1f6a8a"), hexc("184d72"), hexc("123a5a")]
    for i, col in enumerate(blues):
        base = 300 + i * 62
        c.fill_below(wave(base, [(9 + i * 2, 260 + i * 55, i * 1.3), (4, 140 + i * 20, i)]),
                     [(0.0, col), (1.0, mix(col, hexc("0c2a44"), 0.25))], y_ref=(base, H))
    # ferry: hull wedge and cabin
    hx, hy = 470, 392
    c.polygon([(hx, hy), (hx + 230, hy), (hx + 205, hy + 34), (hx + 22, hy + 34)], hexc("fbfbf6"))
    c.rrect(hx + 50, hy - 34, hx + 170, hy + 2, 6, hexc("f1f1ea"))
    c.rrect(hx + 85, hy - 58, hx + 135, hy - 30, 4, hexc("e44d3a"))
    for k in range(5):
        c.rrect(hx + 62 + k * 21, hy - 24, hx + 74 + k * 21, hy - 14, 2, hexc("2f8fa3"))
    # wake
    for k in range(5):
        c.band(wave(hy + 40 + k * 7, [(2, 80, k)]), wave(hy + 42.5 + k * 7, [(2, 80, k)]), hexc("e9fbf8"), 0.35)
    return c


def img_city_hall_dome(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("5fa7a2")), (1.0, hexc("cfe6df"))], 0, H)
    c.glow(600, 330, 420, hexc("f5fbf6"), 0.35)
    c.circle(600, 400, 250, hexc("f4eee2"))
    # dome ribs
    for k in range(-3, 4):
        c.line(600 + k * 62, 400, 600 + k * 22, 160, 3, hexc("e2d6bd"))
    c.rrect(588, 120, 612, 160, 4, hexc("e9dfcc"))
    c.circle(600, 112, 14, hexc("c8643f"))
    # stepped terracotta tiers
    tiers = [(300, 900, 400, "d98a62"), (220, 980, 460, "c6714b"), (140, 1060, 520, "b05e3d"),
             (60, 1140, 580, "94503a"), (0, W, 630, "7c4332")]
    for x0, x1, y, col in tiers:
        c.rrect(x0, y, x1, y + 80, 3, hexc(col))
    for k in range(10):
        x = 330 + k * 58
        c.rrect(x, 414, x + 18, 452, 8, hexc("f0dccb"), alpha=0.85)
    return c


def img_housing_blocks(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("f6efe0")), (1.0, hexc("efe2c8"))], 0, H)
    c.circle(1030, 140, 70, hexc("f2c9a8"), alpha=0.7)
    palette = [hexc("e48f7a"), hexc("d9c19a"), hexc("6f8aa6"), hexc("c7725f"), hexc("9fb1c1"), hexc("b89c74")]
    x = -20
    while x < W:
        bw = rng.randint(90, 170)
        top = rng.randint(140, 420)
        col = palette[rng.randrange(len(palette))]
        c.rrect(x, top, x + bw, H + 10, 2, col)
        win = mix(col, hexc("f6efe0"), 0.45)
        cols = max(2, bw // 34)
        gap = bw / cols
        y = top + 26
        while y < H - 40:
            for k in range(cols):
                wx = x + k * gap + gap * 0.3
                c.rrect(wx, y, wx + gap * 0.4, y + 22, 2, win, alpha=0.8)
            y += 46
        x += bw + rng.randint(0, 14)
    c.vgradient([(0.0, hexc("8a7a66")), (1.0, hexc("6d5f50"))], H - 24, H)
    return c


def img_school_bells(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("e4f1df")), (1.0, hexc("c9e3c7"))], 0, H)
    cols = [hexc("f7d96b"), hexc("8cc8ee"), hexc("f29a84"), hexc("f6e6a0"), hexc("a9d7f2")]
    placements = [(300, 300, 190), (520, 250, 150), (700, 360, 210), (880, 240, 130), (420, 470, 120),
                  (1020, 430, 160), (160, 480, 110), (620, 140, 80), (950, 120, 60)]
    for i, (cx, cy, r) in enumerate(placements):
        c.circle(cx, cy, r, cols[i % len(cols)], alpha=0.72)
    for i in range(7):
        x = 90 + i * 165
        c.circle(x, 620, 6, hexc("6f9f72"), alpha=0.8)
    c.band(wave(600, [(12, 700, 0.5)]), const(H), hexc("a8cfa4"), 0.9)
    return c


def img_clinic_light(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("c9ecdf")), (0.5, hexc("dcd6f0")), (1.0, hexc("c6bfe6"))], 0, H)
    for i in range(5):
        base = 140 + i * 120
        col = mix(hexc("b7e3d2"), hexc("b2a8da"), i / 4)
        c.fill_below(wave(base, [(14, 800 + i * 70, i * 0.9), (5, 260, i)]),
                     [(0.0, col), (1.0, mix(col, hexc("9d93cf"), 0.3))], alpha=0.45, y_ref=(base, H))
    c.glow(600, 320, 430, hexc("ffffff"), 0.75)
    c.rrect(470, 170, 730, 470, 16, hexc("fdfdfb"), soft=6)
    c.rrect(585, 250, 615, 390, 4, hexc("9fd7c4"))
    c.rrect(530, 305, 670, 335, 4, hexc("9fd7c4"))
    return c


def img_market_street(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("f3e7cf")), (1.0, hexc("eedab4"))], 0, H)
    c.band(const(470), const(H), hexc("cdb58d"))
    c.band(const(466), const(474), hexc("b59e77"))
    palette = [hexc("d9a62e"), hexc("2e8a87"), hexc("a8432f"), hexc("e2bd5a"), hexc("3f6e7a"), hexc("c4613f")]
    x = 10
    row = 0
    while x < W:
        bw = rng.randint(110, 200)
        bh = rng.randint(150, 290)
        col = palette[(row * 7 + rng.randrange(3)) % len(palette)]
        c.rrect(x, 470 - bh, x + bw, 470, 26, col, alpha=0.9)
        # awning stripes
        for k in range(0, bw - 20, 28):
            c.rrect(x + 10 + k, 470 - bh + 20, x + 24 + k, 470 - bh + 60, 6, hexc("f7efdd"), alpha=0.55)
        x += int(bw * 0.72)
        row += 1
    for k in range(9):
        cx = 80 + k * 135 + rng.uniform(-20, 20)
        c.circle(cx, 540 + rng.uniform(-10, 20), 22 + rng.uniform(0, 10), palette[k % len(palette)], alpha=0.8)
    return c


def img_festival_lights(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("0d1533")), (0.7, hexc("17224a")), (1.0, hexc("231f48"))], 0, H)
    cols = [hexc("ffb84d"), hexc("f27a8a"), hexc("ffd86b"), hexc("ff9a5c")]
    for i in range(26):
        cx = rng.uniform(40, W - 40)
        cy = rng.uniform(60, H - 60)
        r = rng.uniform(14, 46)
        col = cols[i % len(cols)]
        c.glow(cx, cy, r * 3.2, col, 0.45)
        c.circle(cx, cy, r, mix(col, hexc("fff4d8"), 0.35), alpha=0.9, soft=1.0)
    # water line with reflections
    c.band(const(600), const(H), hexc("0a1026"), 0.75)
    return c


def img_storm_front(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("4a535c")), (1.0, hexc("aab4b8"))], 0, 400)
    # heavy cloud bands pressing down from the top, darkest at the top
    greys = ["7d8891", "66717b", "535d67", "414a53", "30373e"]
    for i, g in enumerate(greys):
        k = len(greys) - 1 - i
        bot = wave(110 + k * 58, [(20 + k * 3, 520 + k * 70, k * 1.1), (8, 190 + k * 15, k * 2.0)])
        c.band(const(-10), bot, hexc(g), alpha=0.92)
        c.band(bot, lambda x, bot=bot: bot(x) + 3, hexc("b9c3c6"), alpha=0.35)
    # pale line of light at the horizon
    c.glow(600, 398, 420, hexc("dfe8e2"), 0.3)
    c.band(const(393), const(403), hexc("e3ece6"), 0.95)
    # dark green sea
    c.vgradient([(0.0, hexc("2d4a44")), (1.0, hexc("0f201d"))], 403, H)
    for i in range(11):
        y = 418 + i * 23 + i * i * 0.4
        amp = 3 + i * 0.8
        parts = [(amp, 110 + i * 14, i * 0.9), (amp * 0.4, 47 + i * 4, i)]
        c.band(wave(y, parts), wave(y + 2.5 + i * 0.3, parts), hexc("6a8c85"), 0.38)
    return c


def img_tidal_marsh(rng):
    c = Canvas(W, H)
    c.vgradient([(0.0, hexc("b9d6ec")), (1.0, hexc("e6f0f3"))], 0, 290)
    bands = ["b7b36a", "8f9a4f", "d9c77f", "7d8a45", "c8b56a", "6b7a3f"]
    for i, col in enumerate(bands):
        base = 270 + i * 65
        c.fill_below(wave(base, [(6, 700 + 80 * i, i * 0.8), (3, 230, i)]),
                     [(0.0, hexc(col)), (1.0, mix(hexc(col), hexc("4f5a2e"), 0.2))], y_ref=(base, H))
    # winding silver channels
    for k, (y0, amp, wl, ph) in enumerate([(330, 30, 520, 0.3), (430, 50, 640, 1.7), (560, 70, 760, 2.9)]):
        top = wave(y0, [(amp, wl, ph), (amp * 0.3, wl / 3, ph * 2)])
        thick = 4 + k * 4
        c.band(top, lambda x, top=top, thick=thick: top(x) + thick, hexc("e5ecef"), 0.9)
        c.band(lambda x, top=top: top(x) + 1, lambda x, top=top: top(x) + 2, hexc("ffffff"), 0.6)
    # distant birds
    for k in range(5):
        bx = 760 + k * 38 + rng.uniform(-8, 8)
        by = 110 + rng.uniform(-25, 25)
        c.line(bx - 9, by - 4, bx, by, 2, hexc("5f6f7a"))
        c.line(bx, by, bx + 9, by - 4, 2, hexc("5f6f7a"))
    return c


def img_rail_line(rng):
    c = Canvas(W, H)
    hy = 300
    c.vgradient([(0.0, hexc("1f1b4d")), (0.55, hexc("5b3a6e")), (0.85, hexc("d9825a")), (1.0, hexc("f2b46b"))],
                0, hy)
    c.glow(600, hy, 380, hexc("ffc98a"), 0.45)
    c.vgradient([(0.0, hexc("4a3a4c")), (1.0, hexc("1c1726"))], hy, H)
    # hills on the horizon
    c.band(wave(hy - 18, [(-14, 700, 0.5), (-6, 230, 1.0)]), const(hy + 1), hexc("3a2f46"))
    vx, vy = 600, hy
    # sleepers, spaced in perspective
    for k in range(1, 26):
        t = (k / 25.0) ** 2.2
        y = vy + (H - vy) * t
        half = 40 + 520 * t
        thick = 1 + 14 * t
        c.rrect(vx - half, y, vx + half, y + thick, 1, hexc("5e4a52"), alpha=0.9)
    # two converging silver rails
    for side in (-1, 1):
        c.polygon([(vx + side * 3, vy), (vx + side * 6, vy), (vx + side * 470, H), (vx + side * 430, H)],
                  hexc("cfd3dc"))
        c.line(vx + side * 4, vy, vx + side * 452, H, 2, hexc("f3f1ee"), 0.8)
    return c


LEAD_IMAGES = [
    ("seawall-dusk.png", img_seawall_dusk),
    ("harbour-morning.png", img_harbour_morning),
    ("ferry-crossing.png", img_ferry_crossing),
    ("city-hall-dome.png", img_city_hall_dome),
    ("housing-blocks.png", img_housing_blocks),
    ("school-bells.png", img_school_bells),
    ("clinic-light.png", img_clinic_light),
    ("market-street.png", img_market_street),
    ("festival-lights.png", img_festival_lights),
    ("storm-front.png", img_storm_front),
    ("tidal-marsh.png", img_tidal_marsh),
    ("rail-line.png", img_rail_line),
]


# --------------------------------------------------------------------------
# Avatars (400 x 400)
# --------------------------------------------------------------------------

AVATARS = [
    # name, background top, background bottom, skin, hair, clothing, hair style
    ("avatar-mara-oyelaran.png", "f2b872", "e0895a", "7a4a32", "2a1a16", "2f5d62", "round"),
    ("avatar-theo-halvorsen.png", "9fc9d9", "5f93ad", "f0c8a8", "c98b4a", "33475b", "short"),
    ("avatar-priya-castellanos.png", "c9b6e4", "9c84c9", "b9805a", "1f1a1c", "d3574a", "long"),
    ("avatar-callum-ashdown.png", "b8dcb0", "7fb487", "e8b894", "6b4428", "e0a43a", "short"),
    ("avatar-noor-vesely.png", "f4c6c4", "dc8f96", "d49c78", "3b2430", "3f6aa8", "wrap"),
]


def make_avatar(bg0, bg1, skin, hair, cloth, style):
    s = AVATAR_SIZE
    c = Canvas(s, s)
    c.vgradient([(0.0, hexc(bg0)), (1.0, hexc(bg1))], 0, s)
    c.circle(s * 0.78, s * 0.2, 46, hexc("ffffff"), alpha=0.18)
    skin_c = hexc(skin)
    hair_c = hexc(hair)
    cloth_c = hexc(cloth)
    head_cx, head_cy, head_r = 200, 165, 72
    if style == "long":
        c.rrect(118, 120, 282, 300, 60, hair_c)
    if style == "wrap":
        c.circle(head_cx, head_cy - 6, head_r + 16, hair_c)
    # shoulders
    c.ellipse(200, 400, 150, 130, cloth_c,
              colour_fn=lambda x, y: mix(cloth_c, mix(cloth_c, hexc("000000"), 0.25), (y - 270) / 130.0))
    # neck
    c.rrect(178, 215, 222, 285, 16, mix(skin_c, hexc("000000"), 0.12))
    c.circle(head_cx, head_cy, head_r, skin_c)
    if style == "round":
        c.sdf_fill(lambda x, y: max(math.hypot(x - head_cx, y - (head_cy - 8)) - (head_r + 10), y - (head_cy - 22)),
                   (head_cx - head_r - 14, head_cy - head_r - 22, head_cx + head_r + 14, head_cy - 20), hair_c)
    elif style == "short":
        c.sdf_fill(lambda x, y: max(math.hypot(x - head_cx, y - (head_cy - 4)) - (head_r + 4), y - (head_cy - 30)),
                   (head_cx - head_r - 8, head_cy - head_r - 10, head_cx + head_r + 8, head_cy - 28), hair_c)
    elif style == "long":
        c.sdf_fill(lambda x, y: max(math.hypot(x - head_cx, y - (head_cy - 6)) - (head_r + 8), y - (head_cy - 26)),
                   (head_cx - head_r - 12, head_cy - head_r - 16, head_cx + head_r + 12, head_cy - 24), hair_c)
    # collar
    c.polygon([(172, 272), (200, 300), (228, 272), (240, 282), (200, 318), (160, 282)],
              mix(cloth_c, hexc("ffffff"), 0.35))
    return c


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for i, (name, fn) in enumerate(LEAD_IMAGES):
        rng = random.Random(1000 + i)
        canvas = fn(rng)
        path = os.path.join(OUT_DIR, name)
        canvas.save_png(path)
        print("wrote %s (%d KB)" % (name, os.path.getsize(path) // 1024))
    for name, bg0, bg1, skin, hair, cloth, style in AVATARS:
        canvas = make_avatar(bg0, bg1, skin, hair, cloth, style)
        path = os.path.join(OUT_DIR, name)
        canvas.save_png(path)
        print("wrote %s (%d KB)" % (name, os.path.getsize(path) // 1024))


if __name__ == "__main__":
    main()
