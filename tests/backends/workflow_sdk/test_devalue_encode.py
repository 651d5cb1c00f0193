"""The devalue writer (``values.encode_devalue``, what ``start`` and ``resume`` write): any JSON value decodes back
to itself through wfctl's reader (Hypothesis), and for a table of values it writes byte for byte what the
``devalue`` package the example app ships writes (``devalue.stringify``, run under Node)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfctl.backends.workflow_sdk.values import decode_bytes, decode_devalue, dehydrate, encode_devalue

ROOT = Path(__file__).resolve().parents[3]
DEVALUE = ROOT / "examples" / "workflow-sdk-app" / "node_modules" / "devalue" / "index.js"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def as_js(value):
    """The value as JavaScript holds it: one number type (48477680750859630 is 4.847768075085963e16)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [as_js(v) for v in value]
    return {k: as_js(v) for k, v in value.items()}


@given(json_values)
def test_any_json_value_round_trips(value):
    assert as_js(decode_devalue(encode_devalue(value))) == as_js(value)
    assert as_js(decode_bytes(dehydrate(value))) == as_js(value)


TABLE = [
    ["Ada", "1h"],
    {"approved": True, "by": "Cy"},
    "x",
    None,
    0,
    1.5,
    -0.0,
    [1, 1, "1", True, 1.0],
    {"a": [{"b": "a"}], "<": "</script>\u2028\u2029", "é": '\n"\\'},
    [],
    {},
    [[], [[]]],
    {"k": None},
    1e21,
    0.1,
    [1.0, 2.5e-7],
]


@pytest.mark.live
def test_writes_what_devalue_stringify_writes():
    from tests.ci_rule import peer_missing
    from tests.doubles.wfapp import node_available

    if not node_available() or not DEVALUE.exists():
        peer_missing("node and the example app's node_modules (devalue)")
    script = f"import * as d from {json.dumps(str(DEVALUE))}; " + (
        "console.log(JSON.stringify(JSON.parse(process.argv[1]).map((v) => d.stringify(v))))"
    )
    values = [v if v != -0.0 or str(v) != "-0.0" else None for v in TABLE]  # JSON cannot carry -0
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(values)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [encode_devalue(v) for v in values] == json.loads(out.stdout)
    assert encode_devalue(-0.0) == "-6"  # devalue's special for -0
