"""nerflow serve: the routes plain clients and Label Studio call, with the request shapes Label Studio's ML backend
protocol uses (its label-studio-ml-backend tests: /setup, /predict, /webhook, /health), with control names other than
label/text; limits and bad requests answered with a 4xx and a message, a burst of them beside good requests, every
good answer checked, and requests arriving together predicted together."""

import json
import threading
from argparse import Namespace
from concurrent.futures import ThreadPoolExecutor
from urllib import request as urlrequest
from urllib.error import HTTPError

import pytest
import torch

from nerflow.tools import cli
from nerflow.tools.predict import load
from nerflow.tools.serve import Backend, create_app

CONFIG = """<View>
  <Labels name="ents" toName="note"><Label value="PER" background="red"/><Label value="Medical Condition"/></Labels>
  <Text name="note" value="$body"/>
</View>"""


def options(**changed) -> Namespace:
    parser = cli.parser()
    return parser.parse_args(["serve", "unused", *sum(([f"--{k.replace('_', '-')}", str(v)] for k, v in changed.items()),
                                                       [])])


@pytest.fixture(scope="module")
def backend(ner_model_dir):
    torch.set_num_threads(1)
    return Backend(load(ner_model_dir, device="cpu", batch_size=8), "ner", options(max_chars=200, max_tasks=4))


@pytest.fixture(scope="module")
def client(backend):
    return create_app(backend).test_client()


def test_health_and_setup_as_label_studio_calls_them(client, backend):
    health = client.get("/health").get_json()
    assert health["status"] == "UP" and health["model_version"] == backend.predictor.model_version
    assert client.get("/").get_json() == health
    answer = client.post("/setup", json={"project": "1.1000000000", "schema": CONFIG, "hostname": "http://ls:8080",
                                         "access_token": "x", "model_version": ""})
    assert answer.status_code == 200 and answer.get_json() == {"model_version": backend.predictor.model_version}
    bad = client.post("/setup", json={"project": "2.1", "schema": "<View><Choices name='c' toName='t'/>"
                                                                  "<Text name='t' value='$text'/></View>"})
    assert bad.status_code == 400 and "no <Labels> control over a <Text> object" in bad.get_json()["error"]


def test_label_studio_predict_under_the_configs_names(client):
    texts = ["Anna left Berlin.", "a and ( )", "John Garcia joined Anna in Zürich."]
    answer = client.post("/predict", json={"tasks": [{"id": i, "data": {"body": t}} for i, t in enumerate(texts)],
                                           "label_config": CONFIG, "project": "1.1000000000",
                                           "params": {"context": {}}})
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert len(results) == 3
    for text, result in zip(texts, results):
        assert isinstance(result["score"], float) and 0 <= result["score"] <= 1  # uncertainty, never null
        for region in result["result"]:
            assert (region["from_name"], region["to_name"], region["type"]) == ("ents", "note", "labels")
            value = region["value"]
            assert text[value["start"]:value["end"]] == value["text"] and value["labels"] == ["PER"]  # LOC left out
    assert [r["value"]["text"] for r in results[2]["result"]] == ["John Garcia", "Anna"]
    assert results[1]["result"] == []


def test_plain_clients_get_entities_and_uncertainty(client):
    answer = client.post("/predict", json={"texts": ["Anna left Berlin.", ""]}).get_json()
    first, empty = answer["results"]
    assert [(e["label"], e["text"]) for e in first["entities"]] == [("PER", "Anna"), ("LOC", "Berlin")]
    assert set(first["uncertainty"]) == {"margin", "mnlp", "entropy"} and empty == {
        "entities": [], "uncertainty": {"margin": 0.0, "mnlp": 0.0, "entropy": 0.0}}


def test_webhook_records_events_and_starts_the_command_never_training(tmp_path, backend):
    events, marker = tmp_path / "events.jsonl", tmp_path / "ran"
    hooked = Backend(backend.predictor, "ner", options(events=events, on_event=f"touch {marker}"))
    client = create_app(hooked).test_client()
    answer = client.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 1, "label_config": CONFIG},
                                           "annotation": {"id": 5}, "task": {"id": 7}})
    assert answer.status_code == 201 and answer.get_json()["command_started"] is True
    hooked.running.wait(10)
    assert marker.exists() and json.loads(events.read_text())["annotation"] == {"id": 5}
    assert client.post("/webhook", json={"action": "PROJECT_UPDATED"}).get_json() == {"status": "Unknown event"}


@pytest.mark.parametrize("body, status, says", [
    (b"{not json", 400, "the body is not JSON"),
    (b"[1, 2]", 400, "the body must be a JSON object"),
    (json.dumps({"text": "Anna"}), 400, 'expected "tasks"'),
    (json.dumps({"texts": "Anna"}), 400, '"texts" must be a list of strings'),
    (json.dumps({"texts": ["Anna", 5]}), 400, "texts[1] must be a string"),
    (json.dumps({"texts": ["x" * 201]}), 413, "texts[0] holds 201 characters: at most 200"),
    (json.dumps({"texts": ["a"] * 5}), 413, "5 texts in one request: at most 4"),
    (json.dumps({"tasks": [{"id": 1, "data": {"text": "Anna"}}], "label_config": CONFIG}), 400,
     "tasks[0].data.body is missing"),
    (json.dumps({"tasks": [{"id": 1, "data": {"text": "Anna"}}], "label_config": "<View"}), 400, "not XML"),
    (json.dumps({"tasks": {"id": 1}}), 400, '"tasks" must be a list of task objects'),
])
def test_a_bad_request_is_a_4xx_naming_what_is_wrong(client, body, status, says):
    answer = client.post("/predict", data=body, content_type="application/json")
    assert answer.status_code == status and says in answer.get_json()["error"]


def test_unknown_routes_and_methods_answer_json(client):
    assert client.get("/nowhere").status_code == 404 and "error" in client.get("/nowhere").get_json()
    assert client.get("/predict").status_code == 405


def test_a_burst_of_bad_and_good_requests_over_http(backend):
    """A real server on a free port: 24 requests at once, a third of them bad; every good one answered as a request
    alone is, fewer model calls than good requests (they share calls), and the server still up after."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app(backend), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"

    def post(body: bytes):
        try:
            with urlrequest.urlopen(urlrequest.Request(f"{url}/predict", data=body, method="POST",
                                                       headers={"Content-Type": "application/json"})) as answer:
                return answer.status, json.loads(answer.read())
        except HTTPError as error:
            return error.code, json.loads(error.read())

    texts = ["Anna left Berlin.", "John Garcia", "Geneva and London", "a Anna", "cars in New York"]
    expected = {text: backend.predictor.predict([text])[0] for text in texts}
    bodies = []
    for i in range(24):
        if i % 3 == 2:
            bodies.append((None, [b"{", json.dumps({"texts": ["x" * 500]}).encode(), b"[]"][i % 9 // 3]))
        else:
            text = texts[i % len(texts)]
            bodies.append((text, json.dumps({"texts": [text]}).encode()))
    calls = backend.batcher.calls
    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(pool.map(lambda item: post(item[1]), bodies))
        for (text, _), (status, answer) in zip(bodies, answers):
            if text is None:
                assert status in (400, 413) and answer["error"]
            else:
                assert status == 200 and answer["results"] == [expected[text]]
        assert backend.batcher.calls - calls < 16  # 16 good requests, fewer model calls
        with urlrequest.urlopen(f"{url}/health") as answer:
            assert json.loads(answer.read())["status"] == "UP"
    finally:
        server.shutdown()


@pytest.mark.slow  # the server as a process, and curl
def test_the_docs_commands_serve_and_rank_as_pasted(tmp_path, ner_model_dir):
    """docs/annotation-loop.md's commands, in a folder holding models/finetuned and pool.jsonl (the port moved off
    9090 where the test runs)."""
    import os
    import re
    import shlex
    import shutil
    import socket
    import subprocess
    import sys
    import time

    from conftest import ROOT

    page = (ROOT / "docs" / "annotation-loop.md").read_text()
    commands = [line.split("  #")[0].strip() for block in re.findall(r"```bash\n(.*?)```", page, re.S)
                for line in block.splitlines() if line.strip()]
    serve, curl, rank = (next(c for c in commands if c.startswith(start))
                         for start in ("nerflow serve", "curl", "nerflow rank"))
    shutil.copytree(ner_model_dir, tmp_path / "models" / "finetuned")
    (tmp_path / "pool.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in ["Anna left Berlin.", "a"]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1",
               PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")
    server = subprocess.Popen(shlex.split(serve) + ["--port", port], cwd=tmp_path, env=env, stderr=subprocess.PIPE)
    try:
        for _ in range(120):
            answer = subprocess.run(shlex.split(curl.replace("9090", port)), cwd=tmp_path, capture_output=True, text=True)
            if answer.returncode == 0 and answer.stdout:
                break
            time.sleep(0.5)
        [found] = json.loads(answer.stdout)["results"]
        assert [(e["label"], e["text"]) for e in found["entities"]] == [("PER", "Angela Merkel"), ("LOC", "Paris")]
    finally:
        server.terminate()
        server.wait(30)
    assert subprocess.run(shlex.split(rank), cwd=tmp_path, env=env).returncode == 0
    ranked = [json.loads(line) for line in (tmp_path / "next" / "ranked.doccano.jsonl").read_text().splitlines()]
    assert [r["text"] for r in ranked] == ["Anna left Berlin.", "a"]


def test_events_during_a_run_start_the_command_once_more_after_it(tmp_path, backend):
    import time

    runs = tmp_path / "runs"
    hooked = Backend(backend.predictor, "ner", options(on_event=f"sh -c 'echo run >> {runs}; sleep 0.5'"))
    client = create_app(hooked).test_client()
    started = [client.post("/webhook", json={"action": "ANNOTATION_UPDATED"}).get_json()["command_started"]
               for _ in range(3)]
    assert started == [True, False, False]  # one at a time: the two others wait for it
    deadline = time.time() + 10
    while time.time() < deadline and (not runs.exists() or len(runs.read_text().splitlines()) < 2):
        time.sleep(0.1)
    time.sleep(0.8)
    assert runs.read_text().splitlines() == ["run", "run"]  # once more for the events that came meanwhile, not twice


def test_a_classifier_answers_label_studio_with_choices(tiny_model_dir, tmp_path):
    """A text classifier (its nerflow.json says so) served: each task a <Choices> result under the project's names,
    the class a choice of the config's (a class the config lacks left out), the task's score its uncertainty."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    labels = ["fresh", "rotten"]
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_model_dir, num_labels=2, id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(tmp_path)
    (tmp_path / "nerflow.json").write_text(json.dumps({"task": "classification", "max_length": 32, "pair": False}))
    classifier = load(tmp_path, device="cpu")
    client = create_app(Backend(classifier, "classification", options())).test_client()
    config = ('<View><Text name="review" value="$body"/><Choices name="verdict" toName="review">'
              '<Choice value="fresh"/><Choice value="rotten"/></Choices></View>')
    texts = ["a warm, funny film", "dull", "", "two hours I will not get back"]
    tasks = [{"id": i, "data": {"body": text}} for i, text in enumerate(texts)]
    answer = client.post("/predict", json={"tasks": tasks, "label_config": config})
    assert answer.status_code == 200
    expected = classifier.predict(texts)
    for result, found in zip(answer.get_json()["results"], expected):
        assert [(r["from_name"], r["to_name"], r["type"], r["value"]) for r in result["result"]] == [
            ("verdict", "review", "choices", {"choices": [found["label"]]})]
        assert result["score"] == pytest.approx(found["uncertainty"]["margin"], abs=1e-4)
    narrow = config.replace('<Choice value="rotten"/>', "")
    results = client.post("/predict", json={"tasks": tasks, "label_config": narrow}).get_json()["results"]
    assert [bool(r["result"]) for r in results] == [found["label"] == "fresh" for found in expected]
