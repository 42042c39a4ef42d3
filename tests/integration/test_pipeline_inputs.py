"""Input types end to end (issue 15): an HTML page, an EPUB and a DOCX
(tests/data, the EPUB and DOCX written by pandoc) uploaded as the frontend
uploads them (sign-url, the form posted to its url, POST /podcasts/ with
url + key) through nginx, made into podcasts by the real worker with the
offline providers; and every damaged sample (cut short, a member missing,
chapters missing, no text, a ZIP bomb) failing at once with its own
message in the podcast's error, never crashing the job's process (which
runs under ASan/UBSan in sanitizer builds)."""
import os

import pytest

import pp
from servers import Nginx, Responder, _www_data_dir, http, http_json
from test_api_uploads import browser_form, token
from test_pipeline import DATA, Pipeline

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Stack:
    """The pipeline's database and Redis, the responder behind nginx, and
    a worker, sharing one storage directory."""

    def __init__(self, services, tmp):
        os.chmod(tmp, 0o755)
        p = os.path.dirname(str(tmp))
        while p.startswith("/tmp/") and p != "/tmp":
            os.chmod(p, os.stat(p).st_mode | 0o055)
            p = os.path.dirname(p)
        self.pipe = Pipeline(services, tmp)
        self.app = self.web = None
        try:
            storage = _www_data_dir(os.path.join(str(tmp), "web-storage"))
            self.pipe.storage = storage
            port = pp.free_port()
            self.url = f"http://127.0.0.1:{port}"
            env = {"DATABASE_URL": self.pipe.db_url, "REDIS_URL": self.pipe.redis_url,
                   "STORAGE_DIR": storage, "PUBLIC_URL": self.url}
            self.app = Responder.listen(tmp, services, processes=1, threads=2, env=env)
            self.web = Nginx(tmp, self.app.socket, port=port, storage_dir=storage)
            self.worker = self.pipe.start_worker(concurrency=2, STORAGE_DIR=storage, PUBLIC_URL=self.url,
                                                 RETRY_MAX=3)
        except Exception:
            self.stop()
            raise

    def stop(self):
        for thing in (self.web, self.app):
            if thing is not None:
                thing.stop()
        self.pipe.close()

    def upload_and_create(self, document, sub):
        """What the frontend does with DOCUMENT: (the sign-url form, the podcast's id)."""
        auth = {"Authorization": "Bearer " + token(sub)}
        with open(os.path.join(DATA, document), "rb") as f:
            data = f.read()
        status, _, form = http_json(self.url + "/uploads/sign-url/", method="POST",
                                    body={"filename": document}, headers=auth)
        assert status == 200, form
        body, ctype = browser_form(form["fields"], data, document)
        status, _, resp = http(form["url"], method="POST", body=body, headers={"Content-Type": ctype})
        assert status == 204, resp
        status, _, created = http_json(self.url + "/podcasts/", method="POST",
                                       body={"original_file_url": form["url"] + form["fields"]["key"]},
                                       headers=auth)
        assert status == 202, created
        return form, created["id"]

    def api_row(self, pid, sub):
        status, _, row = http_json(f"{self.url}/podcasts/{pid}",
                                   headers={"Authorization": "Bearer " + token(sub)})
        assert status == 200, row
        return row

    def assert_no_sanitizer_report(self):
        log = self.worker.log_text()
        assert "AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    s = Stack(services, tmp_path_factory.mktemp("pipeline-inputs"))
    yield s
    s.stop()


def new_sub():
    import uuid
    return str(uuid.uuid4())


@pytest.mark.parametrize("document,content_type,heading,words", [
    ("sample.html", "text/html", "The Semaphore Telegraph", ["chappe", "tower", "telegraph"]),
    ("sample.epub", "application/epub+zip", "A Short History of Beekeeping", ["langstroth", "hive", "honey"]),
    ("sample.docx", DOCX_TYPE, "Tide Mills of the Atlantic Coast", ["millpond", "tide", "miller"]),
])
def test_each_input_type_becomes_a_podcast(stack, document, content_type, heading, words):
    sub = new_sub()
    form, pid = stack.upload_and_create(document, sub)
    assert form["fields"]["Content-Type"] == content_type
    row = stack.pipe.wait_done(pid, timeout=180)
    assert row["status"] == "complete", row
    assert row["error"] is None and row["attempts"] == 1
    # The builtin writer titles a podcast after the document's own heading,
    # which is the document's first paragraph only if extraction found it.
    assert row["title"].startswith(heading), row["title"]
    script = " ".join(line["text"] for line in row["transcript"]["lines"]).lower()
    for word in words:
        assert word in script, (word, script)
    # Nothing of what the page does not show (HTML: script, navigation,
    # footer, hidden block, <title>; EPUB: stylesheet, table of contents).
    for noise in ("trackingpixel", "subscribe", "copyright", "advertisement", "magazine", "code{",
                  "ch001", "podcast pro test fixtures"):
        assert noise not in script, (noise, script)
    assert os.path.getsize(stack.pipe.mp3_path(pid)) > 10000
    got = stack.api_row(pid, sub)
    assert got["status"] == "complete" and got["stream_url"], got
    stack.assert_no_sanitizer_report()


@pytest.mark.parametrize("document,message", [
    ("no-text.html", "The document contains no extractable text"),
    ("truncated.docx", "The document is corrupt: the ZIP archive is truncated or damaged"),
    ("truncated.epub", "The document is corrupt: the ZIP archive is truncated or damaged"),
    ("no-document.docx", "The file is not a valid DOCX (word/document.xml missing)"),
    ("missing-chapters.epub", "The EPUB has no readable chapters: its spine lists 4 documents missing "
                              "from the archive, the first EPUB/text/title_page.xhtml"),
    ("bomb.docx", "The document is too large: it unpacks to more than 26 MiB"),
])
def test_damaged_documents_fail_at_once_with_their_reason(stack, document, message):
    sub = new_sub()
    _, pid = stack.upload_and_create(document, sub)
    row = stack.pipe.wait_done(pid, timeout=60)
    assert row["status"] == "failed", row
    assert row["error"] == message
    assert row["attempts"] == 1          # permanent: no retry, and no crash (a crash is retried)
    assert row["stage"] == "extracting"
    assert not os.path.exists(stack.pipe.mp3_path(pid))
    got = stack.api_row(pid, sub)
    assert (got["status"], got["error"]) == ("failed", message)
    stack.assert_no_sanitizer_report()
