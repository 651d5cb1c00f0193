"""Flue's events as wfctl prints them: the one-line summary of a FlueEvent on a ``tail`` line (:func:`describe`),
and their ``tail -o jsonl`` lines, built column by column (:func:`event_lines`, :func:`batch_lines`) so that a
catch-up of a million events runs no Python code per event (docs/architecture.md, "Flue 1.0 (beta.3 – beta.9)
and Durable Streams").

The lines are byte for byte what :func:`wfctl.output.to_json_text` writes for each event: the same compact
encoder (:data:`wfctl.output.COMPACT_JSON`, called through its C function), and the same escaping of C1, DEL
and bidi controls. No Rich here: ``-o jsonl`` never loads it.
"""

from __future__ import annotations

import json.encoder
import operator
import re
from itertools import repeat
from json.encoder import encode_basestring as _encode_str
from typing import TYPE_CHECKING, Any

from ..flue_text import compact, error_text
from ..output import COMPACT_JSON, JSON_UNSAFE, to_json_text
from ..times import is_wfctl_time, iso, parse_time

if TYPE_CHECKING:
    from ..backends.flue import FlueEvent, FlueEventBatch

__all__ = ["batch_lines", "describe", "event_lines"]

_encode = COMPACT_JSON.encode


# -- -o jsonl ------------------------------------------------------------------------------------------------


def event_lines(events: list["FlueEvent"]) -> str:
    """The ``-o jsonl`` lines of ``events`` (each ending with a newline), byte for byte what
    ``to_json_text({"kind": "event", **event.to_json()})`` gives for each, built column by column
    (see :func:`_lines`); ``FlueEvent.json_lines``."""
    n = len(events)
    try:
        rows = list(map(_COLUMNS, map(_DICT, events)))
    except KeyError:  # events not made by this backend's tail
        return "".join([to_json_text({"kind": "event", **e.to_json()}) + "\n" for e in events])
    run_ids, offsets, indexes, kinds, steps, corrs, datas, stamps = zip(*rows, strict=False)
    if stamps.count(None) == n and not any("_time" in e.__dict__ for e in events):
        times: str | list[str] = "null"
    else:
        times = [_time_text(e) for e in events]
    return _lines(
        n,
        [
            _texts(run_ids),
            _texts(offsets),
            _texts(indexes),
            _texts(kinds),
            times,
            _texts(steps),
            _texts(corrs),
            _encode_many(list(datas)),
        ],
    )


def batch_lines(batch: "FlueEventBatch") -> str:
    """The ``-o jsonl`` lines of a :class:`~wfctl.backends.flue.FlueEventBatch` (``FlueEventBatch.json_lines``): the
    events' own JSON texts as ``data`` when the batch kept them (``raw``), else encoded column by column."""
    n = len(batch.items)
    if not n:
        return ""
    cols: list[str | list[str]] = [
        _encode_str(batch.run_id),
        "",
        _texts(batch.indexes),
        _texts(batch.kinds),
        _time_texts(batch.stamps),
        "null" if batch.steps is None else _texts(batch.steps),
        "null",
        batch.raw if batch.raw is not None else _encode_many(batch.items),
    ]
    raw = batch.raw is not None
    if batch.offsets is not None:
        cols[1] = _texts(batch.offsets)
    elif batch.start == batch.end or n == 1:
        cols[1] = _encode_str(batch.end)
    else:  # all but the last line carry the start offset
        head = [c if c.__class__ is str else c[:-1] for c in cols]
        last = [c if c.__class__ is str else c[-1:] for c in cols]
        head[1], last[1] = _encode_str(batch.start), _encode_str(batch.end)
        return _lines(n - 1, head, raw) + _lines(1, last, raw)
    return _lines(n, cols, raw)


_DICT = operator.attrgetter("__dict__")
_COLUMNS = operator.itemgetter("runId", "offset", "index", "type", "stepId", "correlationId", "data", "_raw_ts")
_NAMES = ("runId", "offset", "index", "type", "time", "stepId", "correlationId", "data")


def _lines(n: int, columns: list[str | list[str]], raw_data: bool = False) -> str:
    """``n`` ``-o jsonl`` event lines from their 8 columns of JSON texts (in :data:`_NAMES` order), each a
    list of ``n`` texts or one text shared by every line; with ``raw_data`` the data texts are objects
    without their outer braces. Shared texts are folded into the constant parts of a line, the rest is
    filled in by slice assignment and everything joined once: no Python code runs per event."""
    template: list[Any] = []
    slots: list[list[str]] = []
    const = '{"kind":"event"'
    for name, column in zip(_NAMES, columns, strict=False):
        const += f',"{name}":' + ("{" if raw_data and name == "data" else "")
        if isinstance(column, str):
            const += column
        else:
            template += [const, None]
            slots.append(column)
            const = ""
    template.append(const + ("}}\n" if raw_data else "}\n"))
    width = len(template)
    line = template * n
    for k, column in enumerate(slots):
        line[2 * k + 1 :: width] = column
    text = "".join(line)
    if text.isascii() and "\x7f" not in text:
        return text
    return _json_safe(text)


def _texts(values: Any) -> str | list[str]:
    """The JSON texts of one column of values: one text when they are all the same value (of one type)."""
    n = len(values)
    first = values[0]
    if first.__class__ is str or first is None:  # == holds only between equal strings / None and None
        if values.count(first) == n:
            return _encode(first)
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(_encode_str, values))
    if kinds == {int}:
        return repr(first) if values[-1] == first and values.count(first) == n else list(map(int.__repr__, values))
    return list(map(_encode, values))


_WFCTL_TIME = re.compile(r".{10}T.{8}\..{3}Z", re.S)  # is_wfctl_time for a str, in C


def _stamp_text(ts: Any) -> str:
    """The JSON text of ``time`` for a FlueEvent ``timestamp`` (passed through when in wfctl's form)."""
    if ts is None:
        return "null"
    if not is_wfctl_time(ts):
        ts = iso(parse_time(ts))
        if ts is None:
            return "null"
    return _encode_str(ts)


def _time_texts(stamps: list[Any] | None) -> str | list[str]:
    if stamps is None or stamps.count(None) == len(stamps):
        return "null"
    if set(map(type, stamps)) == {str} and all(map(_WFCTL_TIME.fullmatch, stamps)):
        return list(map(_encode_str, stamps))
    return list(map(_stamp_text, stamps))


def _time_text(event: "FlueEvent") -> str:
    d = event.__dict__
    if "_time" in d and d.get("_raw_ts") is None:
        ts = iso(d["_time"])
        return "null" if ts is None else _encode_str(ts)
    return _stamp_text(d.get("_raw_ts"))


#: wfctl's one-line JSON encoder (``wfctl.output.COMPACT_JSON``) as the C function behind it:
#: ``"".join(_ENCODE(value, 0))`` is ``_encode(value)``, without a Python call per value.
_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_ENCODE = _C_ENCODER({}, COMPACT_JSON.default, _encode_str, None, ":", ",", False, False, True) if _C_ENCODER else None


def _encode_many(values: list[Any]) -> list[str]:
    """``[_encode(v) for v in values]``, with the C encoder called straight from ``map``."""
    if _ENCODE is None:
        return list(map(_encode, values))
    return list(map("".join, map(_ENCODE, values, repeat(0))))


def _json_safe(text: str) -> str:
    """What :func:`wfctl.output.to_json_text` does to non-ASCII text (C1, DEL and bidi controls escaped)."""
    return JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


# -- tail lines -------------------------------------------------------------------------------------------


def _ms(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    if value < 1000:
        return f"{int(value)}ms"
    seconds = value / 1000
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _message_text(message: Any) -> str:
    """The first text of an AgentMessage (``{role, content: str | [{type: 'text', text}, ...]}``)."""
    if not isinstance(message, dict):
        return compact(message)
    role = message.get("role") or "message"
    content = message.get("content")
    text = ""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                text = part["text"]
                break
            if isinstance(part, dict) and part.get("type") == "toolCall":
                text = f"calls {part.get('name') or 'a tool'}"
                break
    return f"{role}: {compact(text, 100)}" if text else str(role)


def describe(raw: Any) -> str:
    """A readable one-line summary of a FlueEvent (unknown types: their fields, compactly)."""
    if not isinstance(raw, dict):
        return compact(raw, 120)
    kind = raw.get("type")
    if kind == "log":
        level = raw.get("level") or "info"
        text = f"[{level}] {raw.get('message', '')}"
        if raw.get("attributes"):
            text += "  " + compact(raw["attributes"], 60)
        return text
    if kind == "text_delta":
        return str(raw.get("text") or "")
    if kind == "thinking_delta":
        return str(raw.get("delta") or "")
    if kind == "thinking_start":
        return "thinking…"
    if kind == "thinking_end":
        return compact(raw.get("content"), 100)
    # tool, task and operation events show their name (toolName, agent, operationKind) as the line's label,
    # so their summaries do not repeat it
    if kind == "tool_start":
        return compact(raw.get("args"), 100) if raw.get("args") is not None else "called"
    if kind == "tool":
        took = _ms(raw.get("durationMs"))
        head = f"{'failed' if raw.get('isError') else 'ok'}" + (f" in {took}" if took else "")
        result = compact(raw.get("result"), 80)
        return f"{head}: {result}" if result else head
    if kind == "run_start":
        text = f"{raw.get('workflowName') or 'workflow'} started"
        if raw.get("input") is not None:
            text += " with " + compact(raw.get("input"), 80)
        return text
    if kind == "run_resume":
        return f"{raw.get('workflowName') or 'workflow'} resumed after recovery"
    if kind == "run_end":
        took = _ms(raw.get("durationMs"))
        if raw.get("isError"):
            return f"failed{' after ' + took if took else ''}: {error_text(raw.get('error'))}"
        text = f"completed{' in ' + took if took else ''}"
        if raw.get("result") is not None:
            text += " → " + compact(raw.get("result"), 80)
        return text
    if kind == "turn_start":
        return f"turn {raw.get('turnId') or ''} ({raw.get('purpose') or 'agent'})".replace("  ", " ")
    if kind == "turn":
        request = raw.get("request")
        response = raw.get("response")
        request = request if isinstance(request, dict) else {}
        response = response if isinstance(response, dict) else {}
        model = response.get("responseModel") or request.get("requestedModel") or "model"
        text = f"{model}"
        took = _ms(raw.get("durationMs"))
        if took:
            text += f" in {took}"
        usage = response.get("usage") if isinstance(response.get("usage"), dict) else None
        if usage and (usage.get("input") is not None or usage.get("output") is not None):
            text += f", {usage.get('input', '?')} in / {usage.get('output', '?')} out tokens"
        if response.get("finishReason"):
            text += f", {response['finishReason']}"
        if raw.get("isError"):
            text += f" — error: {error_text(response.get('error'))}"
        return text
    if kind in ("message_start", "message_end"):
        return _message_text(raw.get("message"))
    if kind == "turn_messages":
        results = raw.get("toolResults")
        text = _message_text(raw.get("message"))
        if isinstance(results, list) and results:
            text += f" (+{len(results)} tool result{'s' if len(results) != 1 else ''})"
        return text
    if kind == "task_start":
        return compact(raw.get("prompt"), 100)
    if kind == "task":
        took = _ms(raw.get("durationMs"))
        head = f"{'failed' if raw.get('isError') else 'done'}{' in ' + took if took else ''}"
        result = compact(raw.get("result"), 80)
        return f"{head}: {result}" if result else head
    if kind == "compaction_start":
        return f"{raw.get('reason') or 'compaction'}, ~{raw.get('estimatedTokens', '?')} tokens"
    if kind == "compaction":
        text = f"{raw.get('messagesBefore', '?')} → {raw.get('messagesAfter', '?')} messages"
        if raw.get("isError"):
            text += f", failed: {error_text(raw.get('error'))}"
        return text
    if kind == "operation_start":
        return "started"
    if kind == "operation":
        took = _ms(raw.get("durationMs"))
        text = f"{'failed' if raw.get('isError') else 'done'}" + (f" in {took}" if took else "")
        if raw.get("isError") and raw.get("error") is not None:
            text += f": {error_text(raw.get('error'))}"
        return text
    if kind == "submission_settled":
        return f"{raw.get('outcome') or 'settled'}" + (f": {error_text(raw['error'])}" if raw.get("error") else "")
    if kind == "agent_end":
        messages = raw.get("messages")
        return f"{len(messages)} messages" if isinstance(messages, list) else ""
    if kind in ("agent_start", "idle"):
        return ""
    rest = {
        k: v
        for k, v in raw.items()
        if k not in ("type", "v", "eventIndex", "timestamp", "runId", "instanceId", "dispatchId")
    }
    return compact(rest, 120)
