"""A trained model as ONNX, for ONNX Runtime on the CPUs it is served from: exported with dynamic batch and length,
quantized to int8 (dynamic: weights in int8, activations quantized as they come), and run as the transformers model
is called (OnnxModel), so that evaluation, `nerflow predict` and `nerflow serve` read words, make windows and decode
exactly as with torch.

torch.onnx.export's TorchScript path: Hugging Face optimum's ONNX exporter (optimum-onnx) requires an older
transformers than the pinned one, and the dynamo exporter needs onnxscript besides; this one gives dynamic axes for a
BERT-like encoder with torch alone. The model is exported with transformers' eager attention, whose graph ONNX
Runtime's transformer optimizer recognises and fuses (attention, embedding and layer norms, GELU): on all-MiniLM-L6-v2
on 2 CPU cores that took test-set throughput from 1.07x torch's to 1.13x (int8: 1.10x to 1.24x), where the exported
scaled_dot_product_attention fused nothing. ONNX Runtime's fp32 logits match torch's to about 1e-5.
"""

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
SERVED_FILE = "served.json"  # which of the two a folder serves, and why (the export stage's rule)
OPSET = 17


def per_position(model) -> bool:
    """Whether a model gives logits at each position (a token classifier) or one a window (a sequence classifier)."""
    example = torch.full((1, 4), 5, dtype=torch.long)
    with torch.inference_mode():
        return model(input_ids=example, attention_mask=torch.ones_like(example)).logits.dim() == 3


def export(model, folder: Path) -> Path:
    """`model` (a transformers token or sequence classifier, on the CPU) as folder/model.onnx: inputs input_ids and
    attention_mask [batch, length], output logits [batch, length, labels] or [batch, labels]."""
    model = model.to("cpu").eval()
    example = torch.full((2, 16), 5, dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
            "logits": {0: "batch", 1: "length"} if per_position(model) else {0: "batch"}}
    path = Path(folder) / ONNX_FILE
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracer warnings: measured below
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example, torch.ones_like(example)), str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    return path


def optimize(path: Path, config) -> bool:
    """Fuse an exported BERT-like model's attention, layer norms and GELU in place with ONNX Runtime's transformer
    optimizer; False (the file as exported) where it does not know the model's graph."""
    from onnxruntime.transformers import optimizer

    try:
        fused = optimizer.optimize_model(str(path), model_type="bert", num_heads=config.num_attention_heads,
                                         hidden_size=config.hidden_size)
    except Exception:  # noqa: BLE001 (another architecture's graph: served as exported, unfused)
        return False
    fused.save_model_to_file(str(path))
    return fused.get_fused_operator_statistics().get("Attention", 0) > 0


def quantize(source: Path, target: Path) -> Path:
    """An int8 copy of an exported model: ONNX Runtime's dynamic quantization of its weights (MatMul, Gemm)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process first: shape inference, no accuracy
    # The fused operators are ONNX Runtime's own, whose outputs shape inference cannot type: float, as they are.
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return target


class OnnxModel:
    """An exported model run by ONNX Runtime, called as the transformers model is (input_ids, attention_mask ->
    .logits, a torch tensor), with its config: what nerflow's prediction code asks of a model."""

    def __init__(self, path: Path, config, threads: int = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.config, self.path = config, Path(path)
        self.name_or_path = str(Path(path).parent)
        self.training, self.base_model = False, SimpleNamespace()  # no embeddings to number positions from: 0

    def __call__(self, input_ids, attention_mask, **_):
        logits = self.session.run(["logits"], {"input_ids": input_ids.cpu().numpy(),
                                               "attention_mask": attention_mask.to(torch.long).cpu().numpy()})[0]
        return SimpleNamespace(logits=torch.from_numpy(logits))

    def eval(self):
        return self

    def train(self, mode: bool = True):
        return self

    def to(self, device):
        if torch.device(device).type != "cpu":
            raise ValueError("an ONNX model runs on the CPU here (ONNX Runtime's CPU provider)")
        return self

    def parameters(self):
        yield torch.zeros(())  # where prediction puts the batches: the CPU


def served_file(folder: Path) -> Path:
    """The ONNX file an exported folder serves: served.json's choice (the export stage's rule), else model.onnx."""
    folder = Path(folder)
    choice = json.loads((folder / SERVED_FILE).read_text())["file"] if (folder / SERVED_FILE).exists() else ONNX_FILE
    return folder / choice
