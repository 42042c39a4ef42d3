#!/usr/bin/python3
"""The Python service's order of work against the pipeline stubs, for
bench/pipeline.sh: read the PDF, three Gemini calls one after another (a
structured summary, a title, the dialogue), then every line to ElevenLabs
one after another, the MP3 chunks joined. Only the waiting is reproduced
(the work between calls is negligible next to it).

    pipeline_pyorder.py GEMINI_URL ELEVENLABS_URL PDF
"""
import json
import sys
import urllib.request


def post(url, body, headers):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()


def gemini(base, prompt):
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    doc = json.loads(post(f"{base}/v1beta/models/gemini-2.5-flash:generateContent", body,
                          {"x-goog-api-key": "k"}))
    return "".join(p.get("text", "") for p in doc["candidates"][0]["content"]["parts"] if not p.get("thought"))


def main():
    gem, el, pdf = sys.argv[1:4]
    with open(pdf, "rb") as f:
        f.read()
    text = "<document>\nThe document, as the Python service sent it. " * 3
    gemini(gem, text)                      # summary
    gemini(gem, text)                      # title
    script = json.loads(gemini(gem, text))  # dialogue
    audio = b""
    for line in script["lines"]:
        voice = "ThT5KcBeYPX3keUQqHPh" if line["speaker"] == "Dorothy" else "bIHbv24MWmeRgasZH58o"
        audio += post(f"{el}/v1/text-to-speech/{voice}?output_format=mp3_44100_128",
                      {"text": line["text"], "model_id": "eleven_multilingual_v2"}, {"xi-api-key": "k"})
    return 0 if audio else 1


if __name__ == "__main__":
    sys.exit(main())
