"""Stage export (opt-in: `dvc repro export/dvc.yaml`): the fine-tuned model as ONNX for ONNX Runtime, fp32 and int8,
each scored on dev and test as evaluate scores the torch model and timed against it in the same run ->
models/onnx/ (model.onnx, model.int8.onnx, served.json: the variant served by params' rule, the tokenizer, config
and nerflow.json) and metrics/export.json. `nerflow predict models/onnx`, `nerflow serve models/onnx` run it.

Reads:  params.yaml, models/finetuned, data/tokenized, data/processed
Writes: models/onnx, metrics/export.json
"""

from nerflow.data.files import atomic_dir, write_json_atomic
from nerflow.paths import EXPORT_METRICS, MODEL_DIR, ONNX_DIR, PROCESSED_DIR, TOKENIZED_DIR
from nerflow.stages import command_line, read_params, require
from nerflow.training.runtime import place_process


def main():
    command_line(__doc__, "export")
    params = read_params()
    require("export", MODEL_DIR, TOKENIZED_DIR, PROCESSED_DIR)
    place_process(params)  # its CPU threads, for torch and ONNX Runtime alike, before torch runs anything
    from nerflow.tasks.export import export_model

    with atomic_dir(ONNX_DIR) as out:
        report = export_model(params, MODEL_DIR, PROCESSED_DIR, TOKENIZED_DIR, out)
    write_json_atomic(EXPORT_METRICS, report)
    print(f"export: serving {report['served']['variant']} ({report['served']['why']}); dev {report['metric']}: "
          + ", ".join(f"{name} {score}" for name, score in report["dev"].items()))


if __name__ == "__main__":
    main()
