"""Read params.yaml so that numbers are numbers.

PyYAML implements YAML 1.1, where `3e-05` (no dot) is a string; dvc writes floats that way after
`dvc exp run -S lr=3e-5`. We add the YAML 1.2 float rule to a SafeLoader subclass.
"""

import re
from pathlib import Path

import yaml


class _Yaml12Loader(yaml.SafeLoader):
    pass


_FLOAT_12 = re.compile(
    r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def parse_yaml(text: str):
    """Parse YAML text with YAML 1.2 floats (`3e-05` is 3e-05, not '3e-05')."""
    return yaml.load(text, Loader=_Yaml12Loader)


def load_params(path="params.yaml") -> dict:
    path = Path(path)
    try:
        params = parse_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{path}: not found; run the stage from the project root") from None
    if not isinstance(params, dict):
        raise SystemExit(f"{path}: expected a mapping of keys to values")
    return params
