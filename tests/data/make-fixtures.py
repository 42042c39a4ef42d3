#!/usr/bin/python3
"""Writes the pipeline's test documents: minimal, valid PDFs written by hand
(one Helvetica font, one content stream a page), plus a tiny PNG.

    tests/data/make-fixtures.py            # writes next to this script
    qpdf --encrypt user-secret owner-secret 256 -- sample.pdf encrypted.pdf

Outputs: tone.mp3 (with the lame CLI), sample.pdf (three pages of prose), ten-pages.pdf (the benchmark's
ten-page document), empty.pdf (a page with no text), image.png and
not-a-pdf.pdf (that PNG under a .pdf name), notes.md (Markdown).
The encrypted copy is made with qpdf (Debian package qpdf) when present.

Other input types (write_inputs), each a real document from a real producer:
sample.docx and sample.epub are written by pandoc (Debian package pandoc,
2.17 here) from Markdown made below, with SOURCE_DATE_EPOCH and a fixed
identifier so a rerun gives the same text; sample.html is a page as a CMS
serves it (windows-1252 declared in a meta http-equiv, scripts, styles,
navigation, a hidden block, a footer, named and numeric entities, curly
quotes as cp1252 bytes), encoded by Python's codec. The damaged ones are
cut or rewritten from those with zipfile: truncated.docx and truncated.epub
(the first half), no-document.docx (word/document.xml left out),
missing-chapters.epub (every document of the spine left out), bomb.docx (a valid
DOCX whose word/document.xml inflates to 128 MiB of empty paragraphs) and
no-text.html (scripts, styles and navigation only). long.docx repeats a
paragraph to 48 MiB; features.docx and features.epub carry the cases the
readers handle (DOCX_FEATURES, EPUB_XHTML11 and a reordered spine). pandoc is only needed
here: the outputs are committed, so neither CI nor the build needs it.
"""
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile
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



TIDE_MILLS = [
    ("Tide Mills of the Atlantic Coast", None),
    (None, "Long before anyone spoke of renewable energy, millers along the Atlantic coast were "
     "grinding grain with the power of the tides. A tide mill is a simple idea: a dam across a "
     "creek or an inlet traps sea water at high tide, and the miller lets it run out through a "
     "water wheel once the tide has fallen. Twice a day the sea fills the pond again."),
    ("How the Millpond Worked", None),
    (None, "The heart of every tide mill was its millpond. Gates in the dam opened inward as the "
     "flood tide pushed against them and closed by themselves when the ebb began, so the pond "
     "stayed full while the estuary emptied. The miller then opened a sluice and the stored water "
     "turned the wheel for several hours, until the level outside rose again."),
    (None, "Because the work followed the tide rather than the sun, millers kept strange hours. "
     "A miller might start grinding at two in the morning and stop at dawn, then begin again in the "
     "afternoon. Tide tables mattered more to the household than the church clock."),
    ("Where Tide Mills Were Built", None),
    (None, "Tide mills needed a sheltered inlet with a large tidal range and a narrow mouth that "
     "could be closed with a modest dam. The coasts of Brittany, Portugal, the Netherlands and "
     "southern England offered many such places, and hundreds of mills were built there between "
     "the twelfth and the nineteenth centuries."),
    (None, "In the Tagus estuary near Lisbon, tide mills supplied much of the flour eaten in the "
     "city. Along the Breton coast, small mills served single villages, and their ponds became "
     "rich habitats for fish and birds that remain today."),
    ("Decline and Revival", None),
    (None, "Steam mills and later electric roller mills ground flour faster and more cheaply, and "
     "the tide mills closed one after another. Many ponds silted up, and many buildings were "
     "abandoned or turned into houses."),
    (None, "Today several tide mills have been restored as museums, and a few grind grain again "
     "for visitors. Engineers studying tidal power look at them with interest, because the "
     "millpond is the ancestor of the tidal lagoon: the same trapped water, released through a "
     "turbine instead of a wooden wheel."),
]

BEEKEEPING = [
    ("Chapter One: Bees and People", [
        "People have taken honey from wild bees for at least ten thousand years. A rock painting "
        "in eastern Spain shows a figure on a rope ladder reaching into a cliff nest while bees "
        "swarm around, a scene that honey hunters in Nepal still act out today.",
        "Keeping bees rather than robbing them came later. Egyptian beekeepers stacked clay "
        "hives along the Nile and moved them by boat to follow the flowering season, and a relief "
        "in a temple near Abu Ghurab shows workers smoking hives and pouring honey into jars.",
    ]),
    ("Chapter Two: The Skep and the Frame", [
        "For centuries European beekeepers used the skep, a dome of coiled straw. Skeps were cheap "
        "and easy to make, but the honey could only be taken by breaking the comb, and often the "
        "colony was killed with sulphur smoke at the end of the season.",
        "In eighteen fifty one Lorenzo Langstroth noticed that bees leave a gap of about a "
        "centimetre between their combs. He built a hive of removable wooden frames spaced exactly "
        "that far apart, so that the beekeeper could lift out each comb, inspect the brood and "
        "harvest honey without harming the colony.",
        "The movable frame changed beekeeping completely. Together with the honey extractor and "
        "sheets of wax foundation, it made large apiaries possible and turned a craft into an "
        "industry.",
    ]),
    ("Chapter Three: The Colony as a Whole", [
        "A colony of honeybees behaves almost like a single animal. Workers forage, build comb, "
        "nurse larvae and guard the entrance, and the tasks they perform change as they age. "
        "Foragers share the location of flowers with the waggle dance, a figure of eight whose "
        "angle and length tell the others the direction and distance of the food.",
        "Modern beekeepers worry about the varroa mite, pesticides and the loss of wild flowers. "
        "Yet the basic practice is still the one Langstroth described: open the hive gently, read "
        "the frames, and leave the bees enough honey to survive the winter.",
    ]),
]

SEMAPHORE = [
    ("The Semaphore Telegraph", None),
    (None, "In seventeen ninety four a message travelled from Lille to Paris, more than two hundred "
     "kilometres, in under an hour. It was not carried by a rider. It passed from tower to tower "
     "along a chain of mechanical signals designed by Claude Chappe and his brothers."),
    ("Arms on a Tower", None),
    (None, "Each Chappe station was a tower with a tall mast on its roof. On the mast pivoted a "
     "long beam, the regulator, and at each end of it a shorter arm, the indicator. Ropes and "
     "pulleys let the operator set the beam and the arms to any of dozens of positions, each "
     "standing for a number in a code book."),
    (None, "An operator watched the next tower through a telescope, copied each position onto his "
     "own arms, and wrote it in a log. Stations stood ten to fifteen kilometres apart, on hills "
     "and church towers, so that each could see its neighbours in clear weather."),
    ("A Network Across France", None),
    (None, "By the eighteen forties the French network linked Paris with every frontier and many "
     "ports, over more than five hundred stations. The government used it for military orders, "
     "news of elections and the prices of government bonds. Fog, rain and darkness stopped it, "
     "but on a good day a short signal could cross the country in minutes."),
    (None, "The electric telegraph ended the semaphore era within a few years of its arrival. Wires "
     "worked at night and in fog, and one operator could do the work of a whole chain of towers. "
     "A few Chappe stations survive, restored with their arms, as reminders of the first national "
     "telecommunication network."),
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


def markdown_of(blocks):
    out = []
    for heading, para in blocks:
        out.append(f"## {heading}\n" if heading else f"{para}\n")
    return "\n".join(out)


def pandoc(markdown, dest, *args):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1796342400")   # 2026-12-03
    subprocess.run(["pandoc", "-f", "markdown", "-o", dest, *args], input=markdown.encode(),
                   env=env, check=True)


def rezip(src, dest, keep=lambda name: True, replace=None, add=None):
    """SRC's members in order (mimetype stored, as EPUB wants), minus those
    KEEP refuses; REPLACE maps a name to new bytes; ADD's members follow."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        members = [(i.filename, (replace or {}).get(i.filename) or zin.read(i.filename))
                   for i in zin.infolist() if keep(i.filename)]
        for name, data in members + list((add or {}).items()):
            kind = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            zout.writestr(zipfile.ZipInfo(name, date_time=(2026, 12, 3, 0, 0, 0)), data,
                          compress_type=kind, compresslevel=9)


def cut_in_half(src, dest):
    with open(src, "rb") as f:
        data = f.read()
    with open(dest, "wb") as f:
        f.write(data[:len(data) // 2])


HTML_PAGE = """<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html lang="en">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<title>The Semaphore Telegraph | Signals &amp; Towers Magazine</title>
<style type="text/css">
body { font-family: Georgia, serif; } .hidden-print { display: none; }
p:first-letter { font-size: 2em; }
</style>
<script type="text/javascript">
var trackingPixel = "analytics"; if (window.innerWidth < 600 && trackingPixel) { document.body.className = "narrow"; }
</script>
</head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/archive">Archive</a></li><li><a href="/subscribe">Subscribe</a></li></ul></nav>
<div id="content"><article>
{body}
<div hidden>Advertisement placeholder</div>
</article></div>
<footer><p>Copyright &copy; 2026 Signals &amp; Towers Magazine. All rights reserved.</p></footer>
<script>document.write("<p>Cookie banner</p>");</script>
</body>
</html>
"""


def html_body(blocks):
    out = []
    for heading, para in blocks:
        if heading:
            out.append(f"<h{1 if not out else 2}>{heading}</h{1 if not out else 2}>")
        else:
            out.append("<p>" + para + "</p>")
    # Entities, a line break, cp1252 quotes and a table, as real pages have them.
    out.append("<p>Chappe called his invention the <em>t&eacute;l&eacute;graphe</em> &mdash; "
               "\u201cthe far writer\u201d &#8212; and the name outlived it.<br>"
               "Stations&nbsp;were numbered from Paris outward.</p>")
    out.append("<table><tr><th>Line</th><th>Stations</th></tr><tr><td>Paris to Lille</td><td>23</td></tr></table>")
    return "\n".join(out)


def write_inputs(out):
    """The HTML, EPUB and DOCX samples and their damaged copies (see the
    module's docstring). Needs pandoc for the EPUB and the DOCX."""
    page = HTML_PAGE.replace("{body}", html_body(SEMAPHORE))
    with open(os.path.join(out, "sample.html"), "wb") as f:
        f.write(page.encode("cp1252"))
    with open(os.path.join(out, "no-text.html"), "wb") as f:
        f.write(HTML_PAGE.replace("{body}", "<script>var only = 'code';</script><style>p{}</style>"
                                  "<nav><a href='/'>Home</a></nav>").encode("cp1252"))
    if not shutil.which("pandoc"):
        print("pandoc not found: the DOCX and EPUB samples not regenerated", file=sys.stderr)
        return
    docx = os.path.join(out, "sample.docx")
    pandoc("% " + TIDE_MILLS[0][0] + "\n\n" + markdown_of(TIDE_MILLS[1:]), docx)
    book = "% A Short History of Beekeeping\n% Podcast Pro test fixtures\n\n" + "\n".join(
        f"# {title}\n\n" + "\n\n".join(paras) + "\n" for title, paras in BEEKEEPING)
    epub = os.path.join(out, "sample.epub")
    pandoc(book, epub, "--metadata", "identifier=urn:uuid:6f1c7e5e-podcastpro-fixture", "--metadata", "lang=en")
    cut_in_half(docx, os.path.join(out, "truncated.docx"))
    cut_in_half(epub, os.path.join(out, "truncated.epub"))
    rezip(docx, os.path.join(out, "no-document.docx"), keep=lambda n: n != "word/document.xml")
    rezip(epub, os.path.join(out, "missing-chapters.epub"), keep=lambda n: "/text/" not in n)
    with zipfile.ZipFile(docx) as z:
        head = z.read("word/document.xml").split(b"<w:body>")[0] + b"<w:body>"
    tail = b"</w:body></w:document>"
    bomb = head + b"<w:p/>" * (128 * 1024 * 1024 // 6) + tail
    rezip(docx, os.path.join(out, "bomb.docx"), replace={"word/document.xml": bomb})
    # 48 MiB of prose: more than the unpack limit, read only as far as needed.
    para = b"<w:p><w:r><w:t>Tide mills ground grain with the sea. </w:t></w:r></w:p>"
    rezip(docx, os.path.join(out, "long.docx"),
          replace={"word/document.xml": head + para * (48 * 1024 * 1024 // len(para)) + tail})
    rezip(docx, os.path.join(out, "features.docx"), replace={"word/document.xml": head + DOCX_FEATURES + tail})
    with zipfile.ZipFile(epub) as z:
        opf = z.read("EPUB/content.opf").decode()
    spine = opf[opf.index("<spine"):opf.index("</spine>")]
    opf = opf.replace(spine, '<spine toc="ncx">\n    <itemref idref="ch002_xhtml" />\n'
                      '    <itemref idref="ch003_xhtml" linear="no" />\n    <itemref idref="ch001_xhtml" />\n  ')
    opf = opf.replace('href="text/ch001.xhtml"', 'href="text/ch%30%301.xhtml#start"')
    opf = opf.replace('</manifest>', '  <item id="notes" href="../notes.html" media-type="text/html" />\n  </manifest>')
    opf = opf.replace('</spine>', '  <itemref idref="notes" />\n  </spine>')
    rezip(epub, os.path.join(out, "features.epub"),
          replace={"EPUB/content.opf": opf.encode(), "EPUB/text/ch001.xhtml": EPUB_XHTML11},
          add={"notes.html": "<html><body><p>Notes on the caf\u00e9 hives.</p></body></html>".encode()})


# The DOCX reader's cases: a tab, line and page breaks, a non-breaking
# hyphen, deleted text and a field code (not read), alternate content (the
# choice read, its fallback not).
DOCX_FEATURES = (
    b'<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Sluice Gates</w:t></w:r></w:p>'
    b'<w:p><w:r><w:t>Ebb</w:t></w:r><w:r><w:tab/><w:t>flood</w:t></w:r><w:r><w:br/><w:t>second line</w:t>'
    b'</w:r><w:r><w:br w:type="page"/><w:t>after the page break, a well</w:t><w:noBreakHyphen/>'
    b'<w:t>kept pond.</w:t></w:r><w:del w:id="1" w:author="x"><w:r><w:delText>REMOVED WORDS</w:delText>'
    b'</w:r></w:del><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText>'
    b'</w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    b'<w:p><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
    b'<mc:Choice Requires="wps"><w:r><w:t>Chosen text box.</w:t></w:r></mc:Choice>'
    b'<mc:Fallback><w:r><w:t>FALLBACK COPY</w:t></w:r></mc:Fallback></mc:AlternateContent></w:p>'
)

# (features.epub also ends with an HTML item, text/html, UTF-8 without a
# declaration, one directory up from the OPF.)
# An EPUB 2 chapter as older tools write it: XHTML 1.1's DOCTYPE, HTML
# entities only that DTD declares, a self-closed script.
EPUB_XHTML11 = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n'
    b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>One</title>'
    b'<script type="text/javascript" src="x.js"/></head><body>'
    b'<h1>Chapter One: Bees and People</h1>'
    b'<p>Honey hunters in Nepal&nbsp;still climb cliffs &mdash; as caf&eacute; owners buy their honey.</p>'
    b'<p hidden="hidden">NOT SHOWN</p></body></html>'
)


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
    write_inputs(out)
    if shutil.which("qpdf"):
        subprocess.run(["qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--",
                        os.path.join(out, "sample.pdf"), os.path.join(out, "encrypted.pdf")],
                       check=True)
    else:
        print("qpdf not found: encrypted.pdf not regenerated", file=sys.stderr)


if __name__ == "__main__":
    main()
