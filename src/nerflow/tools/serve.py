"""`nerflow serve MODEL_DIR`: a trained model over HTTP, for plain clients and as a Label Studio ML backend.

    nerflow serve models/finetuned                  # http://127.0.0.1:9090; connect it in Label Studio's project
                                                    # settings: Model > Connect model > Backend URL

Routes (JSON in, JSON out):
  GET  /health, /   {"status": "UP", "model_class", "model_version", "task"}: Label Studio checks it on connecting
  POST /setup       Label Studio's {"project", "schema": its labelling config, ...} -> {"model_version"}; a config
                    without a control this model can fill (<Labels> over <Text> for NER, <Choices> for a classifier)
                    is a 400 naming what is missing
  POST /predict     Label Studio's {"tasks": [{"id", "data": {...}}], "label_config", "project", "params"} ->
                    {"results": [{"result": [...], "score", "model_version"}, ...]}, a result a task, in order: the
                    control, object and data key from the label_config the request carries; labels the config lacks
                    left out, counted in the log; `score` the model's uncertainty of the text (--score), never null,
                    so that sorting tasks by it in Label Studio puts the ones most worth annotating first.
                    A plain client's {"texts": ["...", ...]} -> {"model_version", "results": [{"entities": [{"label",
                    "start", "end", "text", "score"}], "uncertainty": {...}}]} (a classifier: "label", "score").
  POST /webhook     Label Studio's annotation events ({"action": "ANNOTATION_CREATED", ...}): appended to --events,
                    and --on-event's command started for them; the server never trains.

Texts are read as `nerflow predict` reads them (any script, long texts windowed, every word predicted once, offsets
in code points, as Label Studio's are). Requests that arrive together are predicted together, one model call for
them all (--batch-wait-ms, --max-batch-texts). Limits: a text over --max-chars or a request of more than --max-tasks
texts is a 413, a body that is not JSON or lacks a field a 400 naming it; the server goes on serving.

There is no authentication: it listens on 127.0.0.1 unless --host says otherwise; to serve a team, put it behind
the team's reverse proxy (which authenticates) or on a private network.
"""

import argparse
import json
import logging
import queue
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from datetime import datetime, timezone
from pathlib import Path

from nerflow.tasks.predict import LabelConfig, parse_label_config
from nerflow.tools.predict import RUNTIMES
from nerflow.training.inference import STRATEGIES

DEFAULT_PORT = 9090  # the port Label Studio's ML backends customarily use
ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATION_DELETED")
log = logging.getLogger("nerflow.serve")


class RequestError(Exception):
    """A request the server refuses: its HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Batcher:
    """Texts from requests that arrive together, predicted in one call: a thread takes what is queued, waits up to
    `wait` seconds for more (up to `max_texts` texts), calls `predict` once on them all, and hands each request its
    share. The model is called from this thread alone."""

    def __init__(self, predict, max_texts: int = 64, wait: float = 0.01):
        self.predict, self.max_texts, self.wait = predict, max_texts, wait
        self.queue, self.calls = queue.Queue(), 0
        threading.Thread(target=self._run, name="nerflow-batcher", daemon=True).start()

    def __call__(self, texts: list) -> list:
        future = Future()
        self.queue.put((texts, future))
        return future.result()

    def _run(self) -> None:
        while True:
            items = [self.queue.get()]
            count, deadline = len(items[0][0]), time.monotonic() + self.wait
            while count < self.max_texts:
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                items.append(item)
                count += len(item[0])
            texts = [text for batch, _ in items for text in batch]
            self.calls += 1
            try:
                found = self.predict(texts) if texts else []
            except Exception as error:  # noqa: BLE001 (each waiting request gets the error; the thread goes on)
                for _, future in items:
                    future.set_exception(error)
                continue
            start = 0
            for batch, future in items:
                future.set_result(found[start:start + len(batch)])
                start += len(batch)


class Backend:
    """What the routes do, apart from HTTP: the checks of a request and the model's answer."""

    def __init__(self, predictor, task: str, options):
        self.predictor, self.task, self.options = predictor, task, options
        self.batcher = Batcher(predictor.predict, options.max_batch_texts, options.batch_wait_ms / 1000)
        self.default_config = (parse_label_config(Path(options.label_config).read_text(encoding="utf-8"),
                                                  predictor.control)
                               if options.label_config else LabelConfig(control=predictor.control))
        self.configs = {}  # Label Studio project id -> its config, from /setup
        self.events, self.command = options.events, options.on_event
        self.running = None  # the --on-event command started last
        self.pending = False  # an event came while it ran: run it again when it ends
        self.lock = threading.Lock()  # request threads append events and start the command one at a time

    def health(self) -> dict:
        return {"status": "UP", "model_class": "nerflow", "model_version": self.predictor.model_version,
                "task": self.task}

    def setup(self, body: dict) -> dict:
        if "schema" in body:
            self.configs[str(body.get("project", "")).split(".")[0]] = self.config(body["schema"], "schema")
        return {"model_version": self.predictor.model_version}

    def config(self, xml, field: str) -> LabelConfig:
        if not isinstance(xml, str):
            raise RequestError(400, f'"{field}" must be the labelling config, a string of XML')
        try:
            return parse_label_config(xml, self.predictor.control)
        except ValueError as error:
            raise RequestError(400, f'"{field}": {error}') from None

    def checked_texts(self, texts: list, where) -> list:
        if len(texts) > self.options.max_tasks:
            raise RequestError(413, f"{len(texts)} texts in one request: at most {self.options.max_tasks} "
                                    "(--max-tasks); send them in smaller batches")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise RequestError(400, f"{where(i)} must be a string (the text), not {type(text).__name__}")
            if len(text) > self.options.max_chars:
                raise RequestError(413, f"{where(i)} holds {len(text):,} characters: at most "
                                        f"{self.options.max_chars:,} (--max-chars)")
            if getattr(self.predictor, "pair", False) and "\t" not in text:  # checked here: not in a shared batch
                raise RequestError(400, f"{where(i)}: a pair model needs two texts, a tab between them")
        return texts

    def predict(self, body: dict) -> dict:
        if "tasks" in body:
            return self.predict_tasks(body)
        if "texts" not in body:
            raise RequestError(400, 'expected "tasks" (Label Studio\'s request) or "texts" (a list of strings)')
        texts = body["texts"]
        if not isinstance(texts, list):
            raise RequestError(400, '"texts" must be a list of strings')
        found = self.batcher(self.checked_texts(texts, lambda i: f"texts[{i}]"))
        return {"model_version": self.predictor.model_version, "results": found}

    def predict_tasks(self, body: dict) -> dict:
        tasks = body["tasks"]
        if not isinstance(tasks, list) or not all(isinstance(task, dict) for task in tasks):
            raise RequestError(400, '"tasks" must be a list of task objects {"id", "data": {...}}')
        project = str(body.get("project", "")).split(".")[0]
        config = (self.config(body["label_config"], "label_config") if body.get("label_config")
                  else self.configs.get(project, self.default_config))
        texts = []
        for i, task in enumerate(tasks):
            data = task.get("data")
            if not isinstance(data, dict) or config.data_key not in data:
                raise RequestError(400, f'tasks[{i}].data.{config.data_key} is missing: the labelling config\'s '
                                        f'<Text> reads "${config.data_key}"')
            texts.append(data[config.data_key])
        self.checked_texts(texts, lambda i: f"tasks[{i}].data.{config.data_key}")
        predictions = self.batcher(texts)
        results, left_out = self.predictor.labelstudio(texts, predictions, config, self.options.score)
        if left_out:
            log.info("left out %d predictions of labels the labelling config lacks: %s", sum(left_out.values()),
                     ", ".join(f"{label} {n}" for label, n in sorted(left_out.items())))
        return {"results": results, "model_version": self.predictor.model_version}

    def webhook(self, body: dict) -> tuple:
        action = body.get("action")
        if not isinstance(action, str):
            raise RequestError(400, '"action" must name the event (ANNOTATION_CREATED, ...)')
        if action not in (*ANNOTATION_EVENTS, "START_TRAINING"):
            return {"status": "Unknown event"}, 200
        started = False
        with self.lock:
            if self.events:
                record = {"received": datetime.now(timezone.utc).isoformat(timespec="seconds"), **body}
                with open(self.events, "a", encoding="utf-8") as out:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if self.command:
                if self.running is not None and self.running.poll() is None:
                    self.pending = True  # it runs again when this run ends: the latest annotations are never left out
                else:
                    self._start()
                    started = True
        return {"status": "ok", "recorded": bool(self.events), "command_started": started}, 201

    def _start(self) -> None:
        """Start --on-event's command in the background (an export and `dvc exp run --queue`, say; never training
        here), and a thread that waits for it and starts it again if events came meanwhile. Call with the lock."""
        self.running = process = subprocess.Popen(shlex.split(self.command), stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL, start_new_session=True)

        def again():
            process.wait()
            with self.lock:
                if self.pending and self.running is process:
                    self.pending = False
                    self._start()

        threading.Thread(target=again, daemon=True).start()


def create_app(backend: Backend):
    """The WSGI app. Flask: in the tested set already, and a WSGI app any WSGI server runs (gunicorn behind a proxy
    for a team); `nerflow serve` runs it on Werkzeug's threaded server, as the model runs in one batching thread."""
    from flask import Flask, jsonify, request
    from werkzeug.exceptions import HTTPException

    app = Flask("nerflow")
    app.config["MAX_CONTENT_LENGTH"] = backend.options.max_tasks * (backend.options.max_chars * 4 + 4096)

    def body() -> dict:
        found = request.get_json(silent=True, force=True)
        if found is None:
            raise RequestError(400, "the body is not JSON")
        if not isinstance(found, dict):
            raise RequestError(400, "the body must be a JSON object")
        return found

    @app.errorhandler(RequestError)
    def refused(error):
        log.info("%s %s: %d %s", request.method, request.path, error.status, error)
        return jsonify({"error": str(error)}), error.status

    @app.errorhandler(HTTPException)
    def http_error(error):
        message = "the request is too large" if error.code == 413 else error.description
        return jsonify({"error": message}), error.code

    @app.errorhandler(Exception)
    def failed(error):
        log.exception("%s %s failed", request.method, request.path)
        return jsonify({"error": f"the server failed on this request: {error!r}"}), 500

    app.add_url_rule("/", "root", lambda: jsonify(backend.health()))
    app.add_url_rule("/health", "health", lambda: jsonify(backend.health()))
    app.add_url_rule("/setup", "setup", lambda: jsonify(backend.setup(body())), methods=["POST"])
    app.add_url_rule("/predict", "predict", lambda: jsonify(backend.predict(body())), methods=["POST"])

    @app.post("/webhook")
    def webhook():
        answer, status = backend.webhook(body())
        return jsonify(answer), status

    return app


def backend_for(args) -> Backend:
    from nerflow.tools.predict import load, model_task

    predictor = load(args.model_dir, batch_size=args.batch_size, runtime=args.runtime)
    return Backend(predictor, model_task(args.model_dir), args)


def run(args) -> int:
    from werkzeug.serving import make_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s nerflow serve: %(message)s")
    if not Path(args.model_dir).is_dir():
        print(f"nerflow serve: error: {args.model_dir}: no such model folder", file=sys.stderr)
        return 1
    try:
        backend = backend_for(args)
    except (OSError, ValueError) as error:
        print(f"nerflow serve: error: {error}", file=sys.stderr)
        return 1
    server = make_server(args.host, args.port, create_app(backend), threaded=True)
    log.info("%s (%s) on http://%s:%d", backend.predictor.model_version, backend.task, args.host, server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value}: expected a whole number ≥ 1")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="a trained model folder, e.g. models/finetuned")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this "
                        "machine only; there is no authentication)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--score", choices=STRATEGIES[:-1], default="margin", help="Label Studio's task score: the "
                        "model's uncertainty of the text by this measure (default margin; nerflow rank --help)")
    parser.add_argument("--label-config", metavar="FILE", help="the labelling config to use when a request "
                        "carries none (default: Label Studio's template's names: label, text, $text)")
    parser.add_argument("--max-chars", type=positive, default=100_000, help="the longest text accepted (413 above)")
    parser.add_argument("--max-tasks", type=positive, default=256, help="the most texts in one request (413 above)")
    parser.add_argument("--max-batch-texts", type=positive, default=64, help="texts predicted in one model call, "
                        "from the requests that arrive together")
    parser.add_argument("--batch-wait-ms", type=float, default=10.0, help="how long a request waits for others to "
                        "share its model call (default 10)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto", help="torch or onnx (ONNX Runtime, for "
                        "models/onnx); auto: as the folder holds (nerflow predict --help)")
    parser.add_argument("--batch-size", type=positive, default=32, help="windows a model batch (default 32)")
    parser.add_argument("--events", metavar="PATH", help="append Label Studio's annotation events here, a JSON "
                        "line each")
    parser.add_argument("--on-event", metavar="COMMAND", help="run COMMAND in the background after an annotation "
                        "event, one at a time (an export and `dvc exp run --queue`, say); the server never trains")
    parser.description = __doc__.split("\n\n")[0]
    parser.epilog = __doc__.split("\n\n", 1)[1]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.set_defaults(run=run)
