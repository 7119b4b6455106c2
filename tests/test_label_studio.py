"""nerflow serve as the ML backend of a real Label Studio 1.23.2: a project with an NER labelling config of its own
names (created through label-studio-sdk), tasks imported, the backend connected, predictions retrieved for every
task, and read back from Label Studio's API with their offsets checked against the text.

Label Studio pins pyarrow below this project's, so it has a venv of its own, made once and kept between runs
(~/.cache/nerflow/label-studio-1.23.2, or NERFLOW_LABEL_STUDIO_VENV); where it cannot be installed (no package
index), the test is skipped saying so. Label Studio is started as its docs say for a backend on this machine:
SSRF protection off for 127.0.0.1, and its legacy API token enabled for the SDK."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib import request as urlrequest

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

VERSION = "1.23.2"
SDK = "2.1.2"
VENV = Path(os.environ.get("NERFLOW_LABEL_STUDIO_VENV", Path.home() / ".cache" / "nerflow" / f"label-studio-{VERSION}"))
TOKEN = "0123456789abcdef0123456789abcdef01234567"
CONFIG = """<View>
  <Labels name="ents" toName="note"><Label value="PER"/><Label value="Medical Condition"/></Labels>
  <Text name="note" value="$body"/>
</View>"""
TEXTS = ["Anna left Berlin with John Garcia.", "a and cars", "😀 Anna met Angela Merkel in Zürich.",
         "Doctors in Geneva; London\r\nand Anna."]


def label_studio_venv() -> Path:
    python = VENV / "bin" / "python"
    if (VENV / "bin" / "label-studio").exists():
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", f"label-studio=={VERSION}",
                              f"label-studio-sdk=={SDK}"], capture_output=True, text=True)
    if install.returncode != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        pytest.skip(f"label-studio=={VERSION} could not be installed here: {install.stderr.strip()[-300:]}")
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url}: the server stopped:\n{log.read_text()[-3000:]}")
        try:
            with urlrequest.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"{url} not up after {seconds} s:\n{log.read_text()[-3000:]}")


def test_label_studio_stores_the_predictions_of_nerflow_serve(tmp_path, ner_model_dir):
    python = label_studio_venv()
    serve_port, studio_port = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    serve_log, studio_log = tmp_path / "serve.log", tmp_path / "studio.log"
    studio_env = dict(os.environ, LABEL_STUDIO_BASE_DATA_DIR=str(tmp_path / "studio"), SSRF_PROTECTION_ENABLED="false",
                      USE_DEFAULT_BANNED_SUBNETS="false")
    with open(serve_log, "wb") as out_serve, open(studio_log, "wb") as out_studio:
        serve = subprocess.Popen([sys.executable, "-m", "nerflow.tools.cli", "serve", str(ner_model_dir), "--port",
                                  str(serve_port)], env=env, stdout=out_serve, stderr=subprocess.STDOUT)
        studio = subprocess.Popen([str(VENV / "bin" / "label-studio"), "start", "--no-browser", "--host", "127.0.0.1",
                                   "--port", str(studio_port), "--username", "nerflow@example.com", "--password",
                                   "nerflow-test-1", "--user-token", TOKEN], env=studio_env, stdout=out_studio,
                                  stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{serve_port}/health", 120, serve, serve_log)
            wait_for(f"http://127.0.0.1:{studio_port}/health", 300, studio, studio_log)
            enable = "from jwt_auth.models import JWTSettings; JWTSettings.objects.update(legacy_api_tokens_enabled=True)"
            subprocess.run([str(VENV / "bin" / "label-studio"), "shell"], input=enable, text=True, env=studio_env,
                           check=True, capture_output=True)
            (tmp_path / "config.xml").write_text(CONFIG)
            (tmp_path / "tasks.json").write_text(json.dumps([{"data": {"body": text}} for text in TEXTS]))
            client = subprocess.run([str(python), str(ROOT / "tests" / "workers" / "label_studio_client.py"),
                                     f"http://127.0.0.1:{studio_port}", TOKEN, f"http://127.0.0.1:{serve_port}",
                                     str(tmp_path / "config.xml"), str(tmp_path / "tasks.json")],
                                    capture_output=True, text=True, timeout=300)
            assert client.returncode == 0, client.stderr[-3000:]
        finally:
            serve.terminate()
            studio.terminate()
            serve.wait(30)
            studio.wait(60)
    stored = json.loads(client.stdout)
    assert stored["backend"]["state"].endswith("CO")  # connected: /health and /setup answered
    assert sorted(task["data"]["body"] for task in stored["tasks"]) == sorted(TEXTS)
    found = {}
    for task in stored["tasks"]:
        [prediction] = task["predictions"]
        assert prediction["model_version"].startswith("nerflow ") and 0 <= prediction["score"] <= 1
        text = task["data"]["body"]
        for region in prediction["result"]:
            assert (region["from_name"], region["to_name"], region["type"]) == ("ents", "note", "labels")
            value = region["value"]
            assert text[value["start"]:value["end"]] == value["text"]  # code points, as Label Studio counts them
            assert value["labels"] == ["PER"]  # LOC is not in the config: left out
        found[text] = [region["value"]["text"] for region in prediction["result"]]
    assert found[TEXTS[0]] == ["Anna", "John Garcia"] and "Angela Merkel" in found[TEXTS[2]]  # after an emoji
    assert "left out" in serve_log.read_text()  # the LOC entities, counted in the log
