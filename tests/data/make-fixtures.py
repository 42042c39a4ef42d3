#!/usr/bin/python3
"""Writes the pipeline's test documents: minimal, valid PDFs written by hand
(one Helvetica font, one content stream a page), plus a tiny PNG.

    tests/data/make-fixtures.py            # writes next to this script
    qpdf --encrypt user-secret owner-secret 256 -- sample.pdf encrypted.pdf

Outputs: tone.mp3 (with the lame CLI), sample.pdf (three pages of prose), ten-pages.pdf (the benchmark's
ten-page document), empty.pdf (a page with no text), image.png and
not-a-pdf.pdf (that PNG under a .pdf name), notes.md (Markdown).
The encrypted copy is made with qpdf (Debian package qpdf) when present.
"""
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

PROSE = [
    ("Lighthouses and the Light They Keep", None),
    (None, "For most of recorded history, the coast was the most dangerous part of any voyage. "
     "Open water rarely sank a well-built ship; rocks, shoals and unseen headlands did. "
     "The lighthouse was the answer that coastal communities gave to this problem, and its "
     "story is a story of fire, glass, engineering and a particular kind of human patience."),
    (None, "The earliest lights were simple fires burning on hilltops or towers. The Pharos of "
     "Alexandria, completed in the third century before the common era, is the most famous. "
     "Ancient writers described a tower well over one hundred metres tall, with a fire at the "
     "summit whose smoke marked the harbour by day and whose flames guided ships by night. "
     "It stood for more than a thousand years before earthquakes brought it down."),
    ("Fire, Coal and Candles", None),
    (None, "For centuries after the Pharos, coastal lights remained crude. Keepers burned wood, "
     "then coal, in open braziers. A coal fire consumed several tonnes of fuel a year and was "
     "only visible for a few miles in clear weather. In rain or fog, the light could vanish "
     "entirely at exactly the moment sailors needed it most."),
    (None, "Candles and oil lamps inside glazed lanterns protected the flame from the wind, but "
     "the glass quickly blackened with soot. Keepers spent much of every night trimming wicks "
     "and wiping panes. The light that escaped was weak, because it spread in every direction, "
     "including straight up into the sky and down into the rock."),
    ("The Problem of Direction", None),
    (None, "The central insight of lighthouse engineering is that a light is only useful where a "
     "ship can see it. Light sent upward is wasted. The challenge was to gather the rays from a "
     "small flame and send them out in a narrow, horizontal beam toward the sea."),
    (None, "The first serious solution used mirrors. Parabolic reflectors made of polished metal "
     "were placed behind each lamp, bouncing light forward into a beam. The Argand lamp, with "
     "its hollow circular wick and glass chimney, burned far brighter and cleaner than older "
     "lamps. Together, reflectors and Argand lamps multiplied the useful light many times over."),
    (None, "Reflectors had weaknesses. Polished metal tarnished in the salt air, and every "
     "reflector absorbed a large share of the light that struck it. Large lighthouses needed "
     "dozens of lamps and reflectors to produce a respectable beam, which meant a great deal "
     "of oil and a great deal of polishing."),
    ("Augustin Fresnel and the Lens", None),
    (None, "In the eighteen twenties, the French physicist Augustin Fresnel changed lighthouses "
     "forever. Fresnel was studying the wave nature of light, and he realised that a lens did "
     "not need to be a single thick piece of glass. Most of the bending happens at the "
     "surfaces, so a lens could be built from concentric rings of prisms, each shaped to bend "
     "light toward the horizon."),
    (None, "The Fresnel lens was lighter and thinner than a solid lens of the same power, and it "
     "captured far more of the lamp's light than mirrors could. A large Fresnel lens could "
     "gather nearly all of the light from a single flame and project it as a beam visible "
     "more than twenty nautical miles away. Within a few decades, Fresnel lenses were being "
     "installed on coasts around the world."),
    (None, "Lenses were graded by order, from the enormous first order lenses used on major "
     "seacoast lights to the small sixth order lenses used in harbours and rivers. A first "
     "order lens could stand taller than a person and weigh several tonnes, yet it floated on "
     "a bath of mercury so smoothly that a small clockwork mechanism could turn it."),
    ("Signatures in the Dark", None),
    (None, "Once lights could be seen from far away, a new problem appeared: sailors needed to "
     "know which light they were looking at. A navigator who mistook one headland for another "
     "could steer confidently onto the rocks. The solution was to give every lighthouse its "
     "own signature, called its characteristic."),
    (None, "Some lights shine steadily, others flash, and others are occulting, meaning they are "
     "mostly on with brief periods of darkness. Rotating lenses produce flashes at precise "
     "intervals, such as one flash every five seconds or two flashes every fifteen seconds. "
     "Colour adds another dimension, with red or green sectors warning ships away from "
     "particular hazards. Printed light lists allowed a navigator to identify a lighthouse by "
     "timing its flashes with a watch."),
    ("The Keepers", None),
    (None, "For most of their history, lighthouses depended on keepers. The work was repetitive "
     "and exacting. Keepers carried oil up the tower, trimmed wicks, cleaned the lens, wound "
     "the clockwork that turned it, and kept a log of weather and passing ships. On remote "
     "rock stations, keepers lived for weeks at a time in cramped quarters, relieved by boat "
     "when the sea allowed."),
    (None, "The keeper's most important duty was simple to state and hard to perform: the light "
     "must never go out. Records are full of keepers who kept their lamps burning through "
     "storms that shattered the lantern glass, through illness, and through isolation that "
     "lasted far longer than planned when relief boats could not land."),
    ("Electricity and Automation", None),
    (None, "Electric lamps arrived at some lighthouses in the late nineteenth century, but "
     "electrification spread slowly because many stations were far from any power supply. "
     "Generators, then mains power and later solar panels replaced oil. Electric lamps were "
     "brighter, needed no trimming, and could be switched on by light sensors at dusk."),
    (None, "Automation followed. Over the twentieth century, one lighthouse after another lost "
     "its keepers as automatic lamp changers, remote monitoring and reliable power made "
     "resident staff unnecessary. The last keepers in many countries left their towers in "
     "the late twentieth century, ending a profession that had lasted for generations."),
    ("Lighthouses Today", None),
    (None, "Satellite navigation has changed how ships find their way, and many sailors now "
     "rely on electronic charts far more than on lights. Yet lighthouses still matter. "
     "Electronics fail, batteries run flat, and signals can be jammed. A light on a headland "
     "remains a simple, independent check that a navigator can trust."),
    (None, "Many old towers now serve as museums, and their great lenses are treasured as works "
     "of precision craftsmanship. Modern lights often use compact light emitting diodes that "
     "draw little power and last for years. The technology has changed completely, but the "
     "purpose has not: to mark the dangerous edge between land and sea, and to bring sailors "
     "home safely."),
]

EXTRA = [
    ("Appendix: Building on the Rock", None),
    (None, "Building a lighthouse on a wave-swept rock was among the hardest engineering tasks of "
     "its age. Work could only happen at low tide and in calm weather, sometimes for only a few "
     "hours a week. Engineers learned to dovetail granite blocks together so that the tower "
     "behaved almost like a single piece of stone, able to resist the enormous force of "
     "breaking waves."),
    (None, "The shape of a rock lighthouse also mattered. A broad, curved base spread the load "
     "and deflected the sea, while the tower narrowed toward the top. Many of these towers "
     "have stood for well over a century with little more than routine maintenance, a "
     "testament to the care taken by their builders."),
    ("Appendix: Sound Signals", None),
    (None, "Light is useless in thick fog, so many stations also carried sound signals. Bells "
     "were the first, rung by hand or by clockwork. Later came fog horns driven by compressed "
     "air, sirens, and the diaphone, whose deep groan could carry for miles across the water. "
     "Like lights, sound signals had characteristics, with blasts of set length repeated at "
     "set intervals."),
    (None, "Sound behaves unpredictably over water. Layers of warm and cold air can bend it "
     "away, leaving silent zones close to the signal where a ship hears nothing at all. "
     "Sailors were taught never to rely on a fog signal alone, and to sound the depth and "
     "slow down whenever visibility fell."),
]


def wrap_page_lines(blocks, width=88):
    lines = []
    for heading, para in blocks:
        if heading is not None:
            if lines:
                lines.append(("", 11))
            lines.append((heading, 15))
            lines.append(("", 11))
        else:
            for l in textwrap.wrap(para, width):
                lines.append((l, 11))
            lines.append(("", 11))
    return lines


def paginate(lines, per_page=44):
    pages, cur = [], []
    for l in lines:
        cur.append(l)
        if len(cur) >= per_page:
            pages.append(cur)
            cur = []
    if cur:
        pages.append(cur)
    return pages


def esc(s):
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path, pages):
    """PAGES: lists of (text, size) lines; an empty list is a blank page."""
    objs = []  # bodies, numbered from 1

    def add(body):
        objs.append(body)
        return len(objs)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    pages_id = len(objs) + 1 + 2 * len(pages)  # allocated after pages and contents
    kids = []
    for page in pages:
        ops = []
        if page:
            ops.append("BT")
            y = 740
            for text, size in page:
                if text:
                    ops.append(f"/F1 {size} Tf 1 0 0 1 72 {y} Tm ({esc(text)}) Tj")
                y -= 16 if size > 11 else 15
            ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_id = add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                      b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                      % (pages_id, font, content))
        kids.append(page_id)
    assert add(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) +
               b"] /Count %d >>" % len(kids)) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    info = add(b"<< /Title (Podcast Pro test document) /Producer (tests/data/make-fixtures.py) >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, catalog, info, xref)
    with open(path, "wb") as f:
        f.write(out)


def write_png(path):
    w, h = 8, 8
    raw = b"".join(b"\x00" + b"".join(bytes([x * 30 % 256, y * 30 % 256, 128]) for x in range(w))
                   for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def write_tone(out):
    """tone.mp3: half a second of 330 Hz, 44.1 kHz mono 128 kbps, no LAME
    tag and no bit reservoir, so copies of it concatenate into a valid
    stream (what the ElevenLabs stub answers with). Needs the lame CLI."""
    import math
    import wave
    if not shutil.which("lame"):
        print("lame not found: tone.mp3 not regenerated", file=sys.stderr)
        return
    rate, n = 44100, 22050
    wav = os.path.join(out, "tone.wav")
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 330 * i / rate) *
                                                      min(1, i / 800, (n - i) / 800))) for i in range(n)))
    subprocess.run(["lame", "-S", "-t", "--nores", "-b", "128", "-m", "m", wav,
                    os.path.join(out, "tone.mp3")], check=True)
    os.unlink(wav)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    write_pdf(os.path.join(out, "sample.pdf"), paginate(wrap_page_lines(PROSE)))
    ten = paginate(wrap_page_lines(PROSE + EXTRA + PROSE[1:] + EXTRA))
    ten = (ten * 4)[:10]
    write_pdf(os.path.join(out, "ten-pages.pdf"), ten)
    write_pdf(os.path.join(out, "empty.pdf"), [[]])
    write_png(os.path.join(out, "image.png"))
    shutil.copyfile(os.path.join(out, "image.png"), os.path.join(out, "not-a-pdf.pdf"))
    with open(os.path.join(out, "notes.md"), "w") as f:
        f.write("# Notes on Lighthouses\n\n")
        for heading, para in PROSE[1:8]:
            f.write(f"## {heading}\n\n" if heading else f"{para}\n\n")
        f.write("- **Fresnel lenses** gather light into a *beam*.\n"
                "- See [the keepers](https://example.org/keepers) for more.\n")
    write_tone(out)
    if shutil.which("qpdf"):
        subprocess.run(["qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--",
                        os.path.join(out, "sample.pdf"), os.path.join(out, "encrypted.pdf")],
                       check=True)
    else:
        print("qpdf not found: encrypted.pdf not regenerated", file=sys.stderr)


if __name__ == "__main__":
    main()
