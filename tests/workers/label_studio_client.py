"""Run by the Label Studio venv's python (tests/test_label_studio.py): drive a real Label Studio through its SDK as a
user would, and print what it stored.

    python label_studio_client.py LS_URL TOKEN BACKEND_URL CONFIG_FILE TASKS_FILE

Creates a project with the labelling config, imports the tasks, connects the ML backend, asks Label Studio to
retrieve the backend's predictions for every task (the Data Manager's "Retrieve Predictions"), then prints a JSON
object: {"backend": the connected backend as Label Studio reports it, "tasks": [{"id", "data", "predictions"}]}.
"""

import json
import sys
import time

from label_studio_sdk import LabelStudio


def main():
    url, token, backend_url, config_file, tasks_file = sys.argv[1:6]
    ls = LabelStudio(base_url=url, api_key=token)
    with open(config_file, encoding="utf-8") as f:
        config = f.read()
    with open(tasks_file, encoding="utf-8") as f:
        tasks = json.load(f)
    project = ls.projects.create(title="nerflow serve", label_config=config)
    ls.projects.import_tasks(id=project.id, request=tasks)
    backend = ls.ml.create(url=backend_url, project=project.id, title="nerflow", is_interactive=False)
    ls.actions.create(id="retrieve_tasks_predictions", project=project.id,
                      selected_items={"all": True, "excluded": []})
    stored, deadline = [], time.time() + 120
    while time.time() < deadline:
        stored = [{"id": t.id, "data": t.data, "predictions": [p.dict() if hasattr(p, "dict") else p
                                                              for p in ls.predictions.list(task=t.id)]}
                  for t in ls.tasks.list(project=project.id)]
        if stored and all(t["predictions"] for t in stored):
            break
        time.sleep(1)
    found = ls.ml.get(id=backend.id)
    print(json.dumps({"backend": {"state": str(getattr(found, "state", "")), "url": found.url},
                      "tasks": stored}, default=str))


if __name__ == "__main__":
    main()
