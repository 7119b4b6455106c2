"""Team and scale: the project's DVC remote on a real S3 server (moto's, on 127.0.0.1) and experiments shared
through a bare git origin (file://), as README "Team and scale" sets them up.

One fixture project is reproduced once and pushed; every test works in fresh clones of it, as a second machine
would. Nothing here reaches any address but 127.0.0.1.
"""

import json
import re
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import FIXTURES, dvc, git, make_project, run

pytestmark = pytest.mark.slow  # an S3 server (moto) and `dvc push/pull/exp`

moto_server = pytest.importorskip("moto.server", reason="moto[server] is in requirements.txt")
boto3 = pytest.importorskip("boto3")

BUCKET = "nerflow-team"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
# What `dvc pull` brings: every cached output of the pipeline (metrics JSON is in git).
CACHED_OUTPUTS = ("data/raw", "data/base_model", "data/processed", "data/tokenized", "models/finetuned",
                  "data/predictions", "metrics/errors.md")


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on 127.0.0.1 (dvc-s3's own tests use it too); in-process mocks do not reach s3fs."""
    server = moto_server.ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # A clean server, whatever ran before in this process.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
    yield SimpleNamespace(url=endpoint, client=boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS))
    server.stop()


def team_env(env: dict, home: Path) -> dict:
    """Credentials the README's way (AWS variables, never in the repo); no user-level AWS or DVC config, no proxy."""
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    return dict(env, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                AWS_CONFIG_FILE=str(home / "aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
                DVC_GLOBAL_CONFIG_DIR=str(home / "dvc-global"), DVC_SYSTEM_CONFIG_DIR=str(home / "dvc-system"),
                DVC_STUDIO_OFFLINE="true", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")


@pytest.fixture(scope="module")
def team(s3, tmp_path_factory, tiny_model_dir):
    """The first machine: the fixture project with the team remote committed, reproduced, pushed (outputs and run
    cache to S3, commits to a bare origin)."""
    root = tmp_path_factory.mktemp("team")
    first = root / "first"
    first.mkdir()
    env = team_env(make_project(first, FIXTURES / "tiny", tiny_model_dir,
                                files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")}), root)
    s3.client.create_bucket(Bucket=BUCKET)
    dvc("remote", "add", "-d", "storage", f"s3://{BUCKET}/dvc", cwd=first, env=env)
    dvc("remote", "modify", "storage", "endpointurl", s3.url, cwd=first, env=env)
    dvc("remote", "modify", "storage", "verify", "true", cwd=first, env=env)
    dvc("repro", cwd=first, env=env)
    git("add", "-A", cwd=first, env=env)
    git("commit", "-q", "-m", "reproduced, with the team remote", cwd=first, env=env)
    assert "[core]" in (first / ".dvc/config").read_text() and "testing" not in (first / ".dvc/config").read_text()
    dvc("push", "--run-cache", cwd=first, env=env)
    origin = root / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=root, env=env)
    git("remote", "add", "origin", origin.as_uri(), cwd=first, env=env)
    git("push", "-q", "origin", "main", cwd=first, env=env)
    return SimpleNamespace(root=root, first=first, origin=origin, env=env, s3=s3)


def clone(team, name: str, source: str = None):
    """A fresh clone (of origin, or of `source`), as on another machine: no DVC cache, no outputs."""
    target = team.root / name
    git("clone", "-q", source or team.origin.as_uri(), str(target), cwd=team.root, env=team.env)
    return target, dict(team.env, PYTHONPATH=str(target / "src"))


def files_under(repo: Path, paths=CACHED_OUTPUTS) -> dict:
    """{relative path: bytes} of every file under `paths`."""
    found = {}
    for path in paths:
        top = repo / path
        for file in [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file()):
            found[str(file.relative_to(repo))] = file.read_bytes()
    return found


def test_fresh_clone_pulls_byte_identical_model_and_data(team):
    repo, env = clone(team, "pull")
    assert not (repo / "models/finetuned").exists()
    dvc("pull", cwd=repo, env=env)
    pulled, original = files_under(repo), files_under(team.first)
    assert "models/finetuned/model.safetensors" in pulled and "data/tokenized/train/part-00000.arrow" in pulled
    assert pulled == original
    assert "up to date" in dvc("status", "dvc.yaml", cwd=repo, env=env).stdout


def test_exp_run_pull_with_unchanged_params_restores_instead_of_training(team):
    repo, env = clone(team, "restore")
    out = dvc("exp", "run", "--pull", cwd=repo, env=env).stdout
    assert "Running stage" not in out, out  # nothing trained or evaluated: every stage pulled from S3
    assert "Pulling data for stage: 'train'" in out
    assert files_under(repo, ["models/finetuned", "data/predictions"]) == files_under(team.first, ["models/finetuned", "data/predictions"])


def object_key(team, relpath: str) -> str:
    """The S3 key of models/finetuned/<relpath> in the remote (DVC stores files by md5: files/md5/ab/cdef...)."""
    lock = yaml.safe_load((team.first / "dvc.lock").read_text())
    [model] = [out for out in lock["stages"]["train"]["outs"] if out["path"] == "models/finetuned"]
    listing = team.first / ".dvc/cache/files/md5" / model["md5"][:2] / model["md5"][2:]
    [md5] = [entry["md5"] for entry in json.loads(listing.read_text()) if entry["relpath"] == relpath]
    return f"dvc/files/md5/{md5[:2]}/{md5[2:]}"


def test_missing_or_corrupted_object_fails_the_pull_and_writes_nothing(team):
    repo, env = clone(team, "damaged")
    client, key = team.s3.client, object_key(team, "model.safetensors")
    original = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    try:
        client.delete_object(Bucket=BUCKET, Key=key)
        missing = dvc("pull", "models/finetuned", cwd=repo, env=env, check=False)
        assert missing.returncode != 0
        assert "failed to pull data from the cloud" in missing.stderr and "does not exist" in missing.stderr
        assert not (repo / "models/finetuned").exists()

        # Same size, other bytes: only `verify = true` in the remote config (README) catches this.
        client.put_object(Bucket=BUCKET, Key=key, Body=original[:-64] + bytes(64))
        corrupted = dvc("pull", "models/finetuned", cwd=repo, env=env, check=False)
        assert corrupted.returncode != 0
        assert "Checkout failed for following targets:\nmodels/finetuned" in corrupted.stderr
        assert not (repo / "models/finetuned").exists()
        assert sorted(p.name for p in (repo / "models").iterdir()) == [".gitignore"]  # no partial or temporary file
    finally:
        client.put_object(Bucket=BUCKET, Key=key, Body=original)
    dvc("pull", "models/finetuned", cwd=repo, env=env)  # repaired remote: the same clone pulls the right bytes
    assert files_under(repo, ["models/finetuned"]) == files_under(team.first, ["models/finetuned"])


SWEEP = {"sweep-lr-1e-3": "1e-3", "sweep-lr-2e-3": "2e-3"}


@pytest.fixture(scope="module")
def sweep(team):
    """Two machines each run one point of a sweep and push it (README: "Sweeps across machines"); run side by
    side, each with one torch thread as its own machine would have its own cores."""

    def machine(name):
        repo, env = clone(team, name)
        env["OMP_NUM_THREADS"] = "1"
        out = dvc("exp", "run", "--pull", "--allow-missing", "-n", name, "-S", f"lr={SWEEP[name]}", cwd=repo, env=env).stdout
        assert "Running stage 'train'" in out and "Running stage 'preprocess'" not in out, out
        dvc("exp", "push", "origin", name, cwd=repo, env=env)
        return name, files_under(repo, ["models/finetuned"]), json.loads((repo / "metrics/eval.json").read_text())

    with ThreadPoolExecutor(len(SWEEP)) as pool:
        results = {name: (model, metrics) for name, model, metrics in pool.map(machine, SWEEP)}
    third, env = clone(team, "third")
    dvc("exp", "pull", "origin", cwd=third, env=env)
    return SimpleNamespace(results=results, repo=third, env=env, team=team)


def test_third_clone_sees_both_experiments_with_their_metrics(sweep):
    shown = json.loads(dvc("exp", "show", "--json", cwd=sweep.repo, env=sweep.env).stdout)
    experiments = {exp["name"]: exp["data"] for baseline in shown for run_ in baseline.get("experiments") or []
                   for exp in run_["revs"]}
    assert set(SWEEP) <= set(experiments), sorted(experiments)
    for name, lr in SWEEP.items():
        data = experiments[name]
        assert data["params"]["params.yaml"]["data"]["lr"] == float(lr)
        assert data["metrics"]["metrics/eval.json"]["data"] == sweep.results[name][1]


def test_exp_apply_restores_the_experiment_model(sweep):
    name = "sweep-lr-2e-3"
    dvc("exp", "apply", name, cwd=sweep.repo, env=sweep.env)
    assert files_under(sweep.repo, ["models/finetuned"]) == sweep.results[name][0]
    assert json.loads((sweep.repo / "metrics/eval.json").read_text()) == sweep.results[name][1]


def test_report_compares_with_a_revision_from_git_alone(sweep):
    """`nerflow report` on a clone that has no DVC data at all, as a CI job has after checkout."""
    repo, env = sweep.repo, sweep.env
    dvc("exp", "apply", "sweep-lr-1e-3", cwd=repo, env=env)
    git("commit", "-q", "-am", "keep lr=1e-3", cwd=repo, env=env)
    ci, env = clone(sweep.team, "ci", source=repo.as_uri())
    assert not (ci / "models/finetuned").exists() and not (ci / ".dvc/cache").exists()
    run([sys.executable, "-m", "nerflow.tools.cli", "report", "--rev", "HEAD~1", "--output", "report.md"], ci, env)
    report = (ci / "report.md").read_text()
    assert re.search(r"^\| params\.yaml +\| lr +\| 0\.0005 +\| 0\.001 +\|$", report, re.M), report
    assert re.search(r"^\| metrics/eval\.json +\| dev\.", report, re.M), report  # a metric that changed
    assert "| type | dev F1 | at HEAD~1 | change | test F1 | at HEAD~1 | change | test support |" in report
    now, before = (json.loads(git("show", f"{rev}:metrics/eval.json", cwd=ci, env=env).stdout) for rev in ("HEAD", "HEAD~1"))
    for entity_type, scores in now["test"]["per_type"].items():
        old = before["test"]["per_type"][entity_type]["f1"]
        assert (f"| {100 * scores['f1']:.2f} | {100 * old:.2f} | {100 * scores['f1'] - 100 * old:+.2f} | "
                f"{scores['support']} |") in report


def test_the_prod_model_is_registered_and_got_elsewhere_as_an_artifact(team):
    """dvc.yaml declares the model an artifact; gto registers a version and assigns it to prod (git tags, pushed);
    another machine gets the prod model with `dvc artifacts get` (from the S3 remote), byte-identical, without a
    clone of its own or DVC Studio."""
    repo, env = clone(team, "registry")
    gto = str(Path(sys.executable).parent / "gto")
    run([gto, "register", "model"], repo, env)
    run([gto, "assign", "model", "--stage", "prod"], repo, env)
    shown = run([gto, "show", "model"], repo, env).stdout
    assert "v0.0.1" in shown and "prod" in shown, shown
    git("push", "-q", "origin", "--tags", cwd=repo, env=env)
    elsewhere = team.root / "elsewhere"
    elsewhere.mkdir()
    dvc("artifacts", "get", team.origin.as_uri(), "model", "--stage", "prod", "-o", "prod-model", cwd=elsewhere, env=env)
    got = {str(p.relative_to(elsewhere / "prod-model")): p.read_bytes()
           for p in sorted((elsewhere / "prod-model").rglob("*")) if p.is_file()}
    original = {k.removeprefix("models/finetuned/"): v for k, v in files_under(team.first, ["models/finetuned"]).items()}
    assert got == original and "model.safetensors" in got
