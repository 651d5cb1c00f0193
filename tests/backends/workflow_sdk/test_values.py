"""The Workflow SDK payload codec (devalue, format prefixes, stream frames, names).

The payloads marked "real" were produced by the SDK's own serializer (``dehydrateWorkflowReturnValue`` of
@workflow/core 4.8.9 and devalue 5.9.2's ``stringify``) from the values named in the test id.
"""

from __future__ import annotations

import base64
import json
import struct

import pytest

from wfctl.backends.workflow_sdk import ids, records, streams
from wfctl.backends.workflow_sdk import values as codec
from wfctl.backends.workflow_sdk.records import parse_machine_name, step_short_name, workflow_short_name
from wfctl.backends.workflow_sdk.streams import StreamDecoder, decode_stream_chunk
from wfctl.backends.workflow_sdk.values import decode_devalue, decode_event_data, decode_payload, unflatten

# Real: @workflow/core's reducers (the form every Workflow SDK payload uses).
WORKFLOW_REDUCED = {
    "date": ('devl[["Date",1],"2026-11-22T04:19:07.206Z"]', "2026-11-22T04:19:07.206Z"),
    "invalidDate": ('devl[["Date",1],"."]', None),
    "bigint": ('devl[["BigInt",1],"12345678901234567890"]', "12345678901234567890"),
    "map": ('devl[["Map",1],[2,5],[3,4],"a",1,[6,7],"b",{"x":8},2]', {"a": 1, "b": {"x": 2}}),
    "mapNonString": ('devl[["Map",1],[2,5],[3,4],1,"one",[6,7],{"k":3},"obj"]', [[1, "one"], [{"k": 1}, "obj"]]),
    "emptyMap": ('devl[["Map",1],[]]', {}),
    "set": ('devl[["Set",1],[2,3,4],"x","y",3]', ["x", "y", 3]),
    "setOfArrays": ('devl[["Set",1],[2],[3,4],1,2]', [[1, 2]]),
    "bytes": ('devl[["Uint8Array",1],"AQID/w=="]', {"$bytes": "AQID/w=="}),
    "emptyBytes": ('devl[["Uint8Array",1],"."]', {"$bytes": ""}),
    "int32": ('devl[["Int32Array",1],"/////wIAAADgkwQA"]', {"$type": "Int32Array", "value": [-1, 2, 300000]}),
    "float64": (
        'devl[["Float64Array",1],"AAAAAAAA+D8AAAAAAAACwA=="]',
        {"$type": "Float64Array", "value": [1.5, -2.25]},
    ),
    "bigint64": (
        'devl[["BigInt64Array",1],"+/////////8HAAAAAAAAAA=="]',
        {"$type": "BigInt64Array", "value": ["-5", "7"]},
    ),
    "arrayBuffer": ('devl[["ArrayBuffer",1],"CQg="]', {"$bytes": "CQg="}),
    "specials": ("devl[[-1,-3,-4,-5,-6,1],null]", [None, "NaN", "Infinity", "-Infinity", 0, None]),
    "holes": ("devl[[1,-2,2],1,3]", [1, None, 3]),
    "objUndef": ('devl[{"a":-1,"b":1},1]', {"b": 1}),
    "error": (
        'devl[["Error",1],{"name":2,"message":3,"stack":4},"TypeError","bad thing",'
        '"TypeError: bad thing\\n    at main (file:///app/x.mjs:1:1)"]',
        {
            "name": "TypeError",
            "message": "bad thing",
            "stack": "TypeError: bad thing\n    at main (file:///app/x.mjs:1:1)",
        },
    ),
    "url": ('devl[["URL",1],"https://example.com/a?b=1"]', "https://example.com/a?b=1"),
    "urlSearchParams": ('devl[["URLSearchParams",1],"a=1&b=2"]', "a=1&b=2"),
    "headers": (
        'devl[["Headers",1],[2,5],[3,4],"x-a","1",[6,7],"x-b","2"]',
        {"$type": "Headers", "value": {"x-a": "1", "x-b": "2"}},
    ),
    "regexp": ('devl[["RegExp",1],{"source":2,"flags":3},"ab+c","gi"]', {"$type": "RegExp", "value": "/ab+c/gi"}),
    "nested": (
        'devl[{"when":1,"tags":3,"m":6},["Date",2],"1970-01-01T00:00:00.000Z",["Set",4],[5],"t",'
        '["Map",7],[8],[9,10],"k",["Date",11],"1970-01-01T00:00:01.000Z"]',
        {"when": "1970-01-01T00:00:00.000Z", "tags": ["t"], "m": {"k": "1970-01-01T00:00:01.000Z"}},
    ),
    "shared": ('devl[{"a":1,"b":1},{"v":2},1]', {"a": {"v": 1}, "b": {"v": 1}}),
    "cyclic": ('devl[{"name":1,"self":0},"loop"]', {"name": "loop", "self": {"$circular": True}}),
    "string": ('devl["hello"]', "hello"),
    "undefinedRoot": ("devl-1", None),
    "number": ("devl[42]", 42),
}

# Real: devalue's own built-in encodings (no reducers).
DEVALUE_BUILTIN = {
    "date": ('[["Date","2026-11-22T04:19:07.206Z"]]', "2026-11-22T04:19:07.206Z"),
    "map": ('[["Map",1,2],"a",1]', {"a": 1}),
    "map2": ('[["Map",1,2,3,4],"a",1,"b",2]', {"a": 1, "b": 2}),
    "emptyMap": ('[["Map"]]', {}),
    "set1": ('[["Set",1],"only"]', ["only"]),
    "set": ('[["Set",1,2],1,2]', [1, 2]),
    "bigint": ('[["BigInt","5"]]', "5"),
    "bytes": ('[["Uint8Array",1],["ArrayBuffer","AQID"]]', {"$bytes": "AQID"}),
    "int16": ('[["Int16Array",1],["ArrayBuffer","AQD//w=="]]', {"$type": "Int16Array", "value": [1, -1]}),
    "subarray": ('[["Uint8Array",1,1,2],["ArrayBuffer","AQIDBA=="]]', {"$bytes": "AgM="}),
    "regexp": ('[["RegExp","x","g"]]', {"$type": "RegExp", "value": "/x/g"}),
    "boxed": ('[["Object",1],"s"]', "s"),
    "nullPrototype": ('[["null","a",1],1]', {"a": 1}),
    "sparse": ('[[-7,6,5,1],"x"]', [None, None, None, None, None, "x"]),
    "url": ('[["URL","https://e.com/"]]', "https://e.com/"),
    "oldTypedArray": ('[["Uint8Array","AQID"]]', {"$bytes": "AQID"}),
}


@pytest.mark.parametrize("name", sorted(WORKFLOW_REDUCED))
def test_workflow_reducer_payloads(name):
    text, expected = WORKFLOW_REDUCED[name]
    value = decode_payload(text.encode())
    assert value == expected
    json.dumps(value)  # always plain JSON


@pytest.mark.parametrize("name", sorted(DEVALUE_BUILTIN))
def test_devalue_builtin_encodings(name):
    text, expected = DEVALUE_BUILTIN[name]
    assert decode_devalue(text) == expected


def test_reference_examples():
    # base64-decoded payloads from a real run
    assert decode_payload(b'devl[[1,2],"Ada","1h"]') == ["Ada", "1h"]
    assert decode_payload(b'devl[{"args":1,"closureVars":-1,"thisVal":-1},[2],"Ada"]') == {"args": ["Ada"]}
    wrapped = {"__type": "Uint8Array", "data": "ZGV2bFtbMSwyXSwiQWRhIiwiMWgiXQ=="}  # runs/<id>.json "input"
    assert decode_payload(wrapped) == ["Ada", "1h"]


def test_workflow_opaque_reducers():
    # shapes of @workflow/core's StepFunction / ReadableStream / Class / Instance / Request reducers
    step_fn = b'devl[["StepFunction",1],{"stepId":2},"step//./workflows/demo//greet"]'
    assert decode_payload(step_fn) == {"$type": "StepFunction", "value": {"stepId": "step//./workflows/demo//greet"}}
    stream = b'devl[{"out":1},["ReadableStream",2],{"name":3,"type":4},"strm_01M80QNBJQ0H1SETZXYVHZB6ZZ","bytes"]'
    assert decode_payload(stream) == {
        "out": {"$type": "ReadableStream", "value": {"name": "strm_01M80QNBJQ0H1SETZXYVHZB6ZZ", "type": "bytes"}}
    }
    instance = b'devl[["Instance",1],{"classId":2,"data":3},"class//./models//Point",{"x":4,"y":5},1,2]'
    assert decode_payload(instance) == {
        "$type": "Instance",
        "value": {"classId": "class//./models//Point", "data": {"x": 1, "y": 2}},
    }
    request = (
        b'devl[["Request",1],{"method":2,"url":3,"headers":4,"body":-1},"POST","https://e.com/",'
        b'["Headers",5],[6],[7,8],"content-type","text/plain"]'
    )
    assert decode_payload(request) == {
        "$type": "Request",
        "value": {
            "method": "POST",
            "url": "https://e.com/",
            "headers": {"$type": "Headers", "value": {"content-type": "text/plain"}},
        },
    }


def test_unknown_tags_are_kept_opaque():
    assert decode_devalue('[["Mystery",1],{"a":2},3]') == {"$type": "Mystery", "value": {"a": 3}}
    assert decode_devalue('[["Temporal.Instant","2026-01-01T00:00:00Z"]]') == "2026-01-01T00:00:00Z"
    assert decode_devalue('[["Odd","lit",1],5]') == {"$type": "Odd", "value": ["lit", 5]}


def test_repeated_headers_are_joined():
    text = 'devl[["Headers",1],[2,5],[3,4],"set-cookie","a=1",[3,6],"b=2"]'
    assert decode_payload(text.encode()) == {"$type": "Headers", "value": {"set-cookie": "a=1, b=2"}}


def test_format_prefixes_and_fallbacks():
    assert decode_payload(b"encr\x00\x01\x02") == {"$encrypted": True}
    assert decode_payload({"__type": "Uint8Array", "data": base64.b64encode(b"encrxyz").decode()}) == {
        "$encrypted": True
    }
    assert decode_payload(b"\x00\x01\x02\x03\x04") == {"$bytes": "AAECAwQ="}
    bad = decode_payload(b"devl[1,")
    assert bad["$undecodable"].startswith("not devalue JSON") and base64.b64decode(bad["$bytes"]) == b"devl[1,"
    assert decode_payload(b'[["Date","2026-01-01T00:00:00.000Z"]]') == "2026-01-01T00:00:00.000Z"  # no prefix
    assert decode_payload(None) is None


def test_legacy_json_values_pass_through():
    # specVersion 1 runs stored plain JSON; nested byte wrappers become {"$bytes"}
    value = {"a": [1, {"__type": "Uint8Array", "data": "AQI="}], "b": "x", "c": None}
    assert decode_payload(value) == {"a": [1, {"$bytes": "AQI="}], "b": "x", "c": None}
    assert decode_payload("plain") == "plain" and decode_payload(7) == 7


def test_cbor_tag_64_objects():
    class Tag:  # what cbor2 gives the Postgres world for a Uint8Array
        tag = 64
        value = b'devl[[1],"x"]'

    assert decode_payload(Tag()) == ["x"]


def test_event_data_fields_are_decoded():
    data = {
        "stepName": "step//./w//greet",
        "input": {"__type": "Uint8Array", "data": base64.b64encode(b'devl[{"args":1},[2],"Ada"]').decode()},
        "resumeAt": "2026-11-22T05:19:07.222Z",
    }
    assert decode_event_data(data) == {
        "stepName": "step//./w//greet",
        "input": {"args": ["Ada"]},
        "resumeAt": "2026-11-22T05:19:07.222Z",
    }


def test_standalone_specials_and_invalid_input():
    assert unflatten(-1) is None
    assert unflatten(-3) == "NaN"
    with pytest.raises(codec.DecodeError):
        unflatten([])
    with pytest.raises(codec.DecodeError):
        unflatten({"a": 1})
    with pytest.raises(codec.DecodeError):
        decode_devalue("[[5]]")  # reference out of range


def test_exponential_payloads_are_refused(monkeypatch):
    monkeypatch.setattr(codec, "MAX_NODES", 1000)
    values = [[i + 1, i + 1] for i in range(30)] + [0]  # each level references the next twice: 2^30 nodes
    text = "devl" + json.dumps(values)
    assert "too large" in decode_payload(text.encode())["$undecodable"]


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def test_stream_frames():
    # a chunk file (benchmarks/gen_local_world.py): 00 | 00 00 00 11 | devl["hello Ada"]  (the EOF byte is the
    # file's, not the payload's)
    assert decode_stream_chunk(bytes.fromhex("00000011") + b'devl["hello Ada"]') == ["hello Ada"]
    two = _frame(b'devl["a"]') + _frame(b'devl[{"n":1},2]')
    assert decode_stream_chunk(two) == ["a", {"n": 2}]


def test_stream_frame_split_across_chunks():
    data = _frame(b'devl["first"]') + _frame(b'devl["second value"]')
    decoder = StreamDecoder()
    assert decoder.feed(data[:6]) == []
    assert decoder.feed(data[6:20]) == ["first"]
    assert decoder.feed(data[20:]) == ["second value"]
    assert decoder.flush() == []


def test_stream_legacy_and_raw_bytes():
    assert decode_stream_chunk(b'["a"]\n[{"b":1},2]\n') == ["a", {"b": 2}]  # newline-delimited devalue
    decoder = StreamDecoder()
    assert decoder.feed(_frame(b"devl[1]")[:5]) == []
    assert decoder.flush() == [{"$bytes": base64.b64encode(_frame(b"devl[1]")[:5]).decode()}]
    assert decode_stream_chunk(_frame(b"\x01\x02\x03\x04\x05")) == [{"$bytes": "AQIDBAU="}]


def test_names():
    assert workflow_short_name("workflow//./workflows/demo//demoWorkflow") == "demoWorkflow"
    assert step_short_name("step//./workflows/demo//greet") == "greet"
    assert step_short_name("step//./src/jobs/order//processOrder/innerStep") == "processOrder/innerStep"
    assert workflow_short_name("workflow//./x//[red]a/b[/red]") == "[red]a/b[/red]"  # cut only at "//"
    assert workflow_short_name("workflow//./src/jobs/order//default") == "order"
    assert workflow_short_name("workflow//@myorg/shared@1.2.3//__default") == "shared"
    assert workflow_short_name("workflow//point@0.0.1//run") == "run"
    assert workflow_short_name("demoWorkflow") == "demoWorkflow"
    assert step_short_name("workflow//./a//b") == "workflow//./a//b"  # wrong kind: unchanged
    assert workflow_short_name(None) is None
    assert parse_machine_name("workflow", "workflow//./w//a//b") == {
        "shortName": "b",
        "moduleSpecifier": "./w",
        "functionName": "a//b",
    }


def test_shared_record_helpers():
    run_id = "wrun_01M80QNBJQ0H1SETZXYVHZB6ZY"
    assert streams.stream_base(run_id) == "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user"
    assert streams.stream_name(run_id, "") == "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user"
    assert streams.stream_name(run_id, "logs") == "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user_bG9ncw"
    assert streams.stream_name(run_id, "strm_other") == "strm_other"
    assert streams.stream_namespace(run_id, "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user_bG9ncw") == "logs"
    assert streams.stream_namespace(run_id, "strm_01M80QNBJQ0H1SETZXYVHZB6ZY_user") is None
    assert records.run_error("boom").to_json() == {"message": "boom", "code": None, "stack": None}
    assert records.run_error({"message": "x", "stack": "s"}, "USER_ERROR").code == "USER_ERROR"
    assert records.run_error(None) is None
    run = records.run_from_record(
        {
            "runId": run_id,
            "status": "running",
            "workflowName": "workflow//./w//demo",
            "input": b'devl[[1],"a"]',
            "executionContext": {"workflowCoreVersion": "4.8.9", "traceCarrier": {}},
        },
        "x",
    )
    assert (run.workflowName, run.workflowId, run.input, run.extra["workflowCoreVersion"]) == (
        "demo",
        "workflow//./w//demo",
        ["a"],
        "4.8.9",
    )
    assert run.to_json()["createdAt"] == "2026-11-22T04:19:06.967Z"  # no createdAt: the id's time
    step = records.step_from_record(
        {
            "stepId": "step_1",
            "stepName": "step//./w//greet",
            "status": "completed",
            "attempt": 2,
            "error": {"message": "earlier attempt"},
        }
    )
    assert (step.stepName, step.attempt, step.error) == ("greet", 2, None)
    assert ids.ulid_time_ms(run_id) == 1795321146967 and ids.is_ulid(run_id[5:])


# -- the 5.0 line: compressed and sealed payloads, serialized errors, slot-numbered event ids ------------------


def test_compressed_payloads_decode_through_their_inner_prefix():
    import gzip

    import zstandard

    inner = b'devl[[1,2],"Ada","1h"]'
    assert decode_payload(b"gzip" + gzip.compress(inner)) == ["Ada", "1h"]
    assert decode_payload(b"zstd" + zstandard.ZstdCompressor().compress(inner)) == ["Ada", "1h"]
    assert decode_payload(b"encp" + b"\x00" * 40) == {"$encrypted": True}
    broken = decode_payload(b"gzip" + b"not gzip at all")
    assert broken["$undecodable"].startswith("gzip payload") and "$bytes" in broken


def test_a_decompression_bomb_is_not_inflated(monkeypatch):
    import gzip

    from wfctl.backends.workflow_sdk import values as codec

    monkeypatch.setattr(codec, "MAX_DECOMPRESSED", 1000)
    bomb = decode_payload(b"gzip" + gzip.compress(b"devl" + b"[" * 5000))
    assert "larger than 1000 bytes" in bomb["$undecodable"]


def test_5_0_errors_are_serialized_values_with_an_error_code_beside_them():
    from wfctl.backends.workflow_sdk.records import run_error

    stored = u8(b'devl[["FatalError",1],{"message":2,"stack":3},"boom: bad input","FatalError: boom"]')
    assert decode_payload(stored) == {
        "name": "FatalError",
        "message": "boom: bad input",
        "stack": "FatalError: boom",
        "fatal": True,
    }
    error = run_error(stored, "USER_ERROR")
    assert (error.message, error.code, error.stack) == ("boom: bad input", "USER_ERROR", "FatalError: boom")
    retry = decode_payload(b'devl[["RetryableError",1],{"message":2,"retryAfter":3},"later",500]')
    assert retry == {
        "name": "RetryableError",
        "message": "later",
        "stack": None,
        "retryAfter": "1970-01-01T00:00:00.500Z",
    }  # epoch ms, revived as a Date


def test_slot_event_ids_are_positions_not_times():
    from wfctl.backends.workflow_sdk.ids import slot_event_id, slot_of, ulid_time_ms
    from wfctl.backends.workflow_sdk.records import record_time

    assert slot_event_id(7) == "evnt_00000000000000000000000007" and slot_of(slot_event_id(7)) == 7
    assert slot_of("evnt_01M80QNBTPSHNMC34S1895N4EG") is None and slot_of("evnt_00000000000000000000000000") is None
    assert ulid_time_ms("evnt_00000000000000000000000007") is None
    assert record_time(None, "evnt_00000000000000000000000007") is None  # never 1970


def u8(data: bytes) -> dict[str, str]:
    return {"__type": "Uint8Array", "data": base64.b64encode(data).decode()}
