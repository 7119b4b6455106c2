"""Stage params: params.yaml checked whole against its schema -> data/params/{stage}.yaml for each stage, the values
of the params it reads, the schema's defaults filled in where params.yaml leaves a key out. Each stage depends on
its file in dvc.yaml: DVC reruns it when a value it reads changes, whether you set it or the schema gives it, so a
params.yaml holding only the keys you set runs, and a default changed in the schema reruns what it shapes.

Reads:  params.yaml
Writes: data/params
"""

from nerflow.data.files import atomic_dir
from nerflow.params import shaped_stages, stage_params_yaml
from nerflow.paths import STAGE_PARAMS_DIR
from nerflow.stages import command_line, read_params


def main():
    command_line(__doc__, "params")
    params = read_params()
    with atomic_dir(STAGE_PARAMS_DIR) as folder:
        for stage in shaped_stages():
            (folder / f"{stage}.yaml").write_text(stage_params_yaml(params, stage), encoding="utf-8", newline="\n")


if __name__ == "__main__":
    main()
