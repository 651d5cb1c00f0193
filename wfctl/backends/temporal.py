"""Temporal backend: workflow executions through Temporal's HTTP API (issue 7).

wfctl talks to the JSON gateway a Temporal server serves on its HTTP port (``temporal server start-dev
--http-port``; Temporal Cloud's HTTP endpoint) with :mod:`wfctl.http` — no gRPC stack at run time. Profile
keys: ``url`` (the HTTP API's base URL; a trailing ``/api/v1`` is accepted), ``namespace`` (default
``default``), ``task_queue`` (for ``start``), and the token (``WFCTL_TOKEN`` / ``token_env`` / ``token``)
sent as ``Authorization: Bearer <API key>``. Facts about the API this module relies on are in
``tests/support/TEMPORAL_HTTP_API.md``.

Decisions (the README's Temporal section repeats them)
-------------------------------------------------------

* **Addressing.** A wfctl run id is a Temporal **workflow id**; it addresses the *latest* execution of that
  id, whose run id is reported in ``extra["runId"]``. ``WORKFLOW_ID:RUN_ID`` (a colon and a UUID-shaped run
  id at the end) addresses one exact execution; if no such execution exists, the whole string is tried as a
  workflow id (ids may contain colons). ``Run.runId`` always echoes the id it was addressed by, so waiting
  and caching keep working. ``list`` prints bare workflow ids, except for executions that ended
  ``ContinuedAsNew`` (never the latest of their id), which it prints as ``WORKFLOW_ID:RUN_ID``. Ids with a
  ``/`` cannot be addressed through the HTTP API's path routes (they still appear in ``list``).
* **Mapping.** ``workflowName`` = workflow type; ``rawStatus`` = the short status word (``Running``,
  ``ContinuedAsNew``, ...); ``createdAt`` = start time, ``startedAt`` = execution time (later than the start
  with a start delay or cron backoff), ``completedAt`` = close time. ``input``/``output`` are the decoded
  payloads: one payload gives its value, several give a list. Payloads decode as: ``json/plain`` and
  ``json/protobuf`` → JSON, ``binary/null`` → null, ``binary/plain`` → ``{"$bytes": b64}``, ``binary/
  encrypted`` → ``{"$encrypted": true}``, anything else → ``{"$bytes": b64, "$encoding": name}``. Every GET
  asks for the full payload form (``noPayloadShorthand``) so the shapes are unambiguous.
* **get** = describe + the history (paged, at most :data:`HISTORY_SCAN_LIMIT` events; beyond that
  ``extra["historyTruncated"]`` is true and the close event is read on its own): input from the started
  event, output or error from the close event (failure message + root cause, failure type as ``code``, the
  stack; terminated/cancelled runs carry the reason as their error with code ``Terminated``/``Canceled``),
  activities and child workflows as steps (``stepId`` = activity id / child workflow id, ``startedAt`` =
  when it was scheduled, so retries count in its duration), overlaid with describe's pending activities
  (attempt, last failure as ``error``, ``Scheduled`` → pending, ``Started``/``CancelRequested`` → running),
  and every timer as a wait (``correlationId`` = timer id, ``resumeAt`` = start + ``startToFireTimeout``;
  ``waiting`` until fired → ``completed`` or cancelled → ``cancelled``). If the history already holds the
  close event while describe still said Running, the close event wins. ``get_status`` is describe only.
* **list.** ``--status`` (normalized words map onto Temporal's: ``completed`` = Completed + ContinuedAsNew,
  ``failed`` = Failed + TimedOut, ``cancelled`` = Canceled + Terminated; a raw word — ``Completed``,
  ``canceled``, ``timed_out``, ``WORKFLOW_EXECUTION_STATUS_FAILED`` — means that one status; ``pending`` and
  ``waiting`` have no Temporal equivalent and match nothing), ``--workflow`` (``WorkflowType``),
  ``--search`` (a *prefix* of the workflow id or type: visibility has no substring operator on keywords),
  ``--since``/``--until`` (``StartTime``) become a visibility query, AND-ed with the raw ``--query``. The
  cursor is the server's ``nextPageToken``. Temporal lists in a fixed order (running first, then by close
  time, newest first) and rejects ``ORDER BY``, so ``--sort asc`` ends with exit 6 (unsupported) rather than
  sorting one page and pretending the whole listing is ordered.
* **status --wait** overrides :meth:`TemporalBackend.wait_for_change` with a history long-poll for the close
  event (``waitNewEvent`` + ``HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT``), bounded by the interval it is given:
  a ``Grpc-Timeout`` header makes the server answer (empty) in time, and the read timeout sits a little
  above it in case a proxy drops the header. It returns as soon as the execution closes.
* **cancel** describes first (the API answers 200 to a cancel of a closed run): unknown → ``not_found``,
  closed → ``already_completed``, else a cancellation request (``--terminate``: a termination) with the
  ``--reason``, pinned to the execution's run id. Cancellation is a *request*: the outcome is ``cancelled``
  with status ``running`` until the workflow reacts; a termination ends the run at once (status
  ``cancelled``).
* **tail** prints the history events in order, one :class:`~wfctl.model.Event` each: ``offset`` = the event
  id as a string, ``index`` = the event id, ``type`` = the short event type (``ActivityTaskCompleted``),
  ``data`` = the decoded attributes, ``stepId``/``stepName`` = activity id/type (child workflow id/type),
  ``correlationId`` = the timer id. ``--offset N`` resumes after event N, ``--type`` matches short names
  case-insensitively, ignoring ``_``/``-`` and the ``EVENT_TYPE_`` prefix, and also by substring
  (``activity``, ``timer_fired``, ``failed``); ``--last N`` keeps the last N matching events (read
  backwards when not live); ``--start-index N`` keeps events from id N (negative = the last -N).
  ``--live`` long-polls with ``waitNewEvent`` until the close event, resuming with the last page token
  after a dropped connection and never yielding an event twice. A live tail follows one execution: after
  ``WorkflowExecutionContinuedAsNew`` it ends (the event carries ``newExecutionRunId``). ``--stream`` is
  unsupported (Temporal runs have no output stream).
* **dashboard** counts with one ``workflow-count`` query ``GROUP BY ExecutionStatus`` (falling back to one
  count query per normalized status where the server refuses it).
* **start WORKFLOW_TYPE**: task queue from ``--task-queue`` or the profile's ``task_queue`` (else a usage
  error); the input is passed as **one** argument — the whole JSON value, a list included (a JSON list is
  as likely to be one list parameter as several arguments, and one rule is predictable); no input → no
  arguments. ``--id`` chooses the workflow id (default ``<type>-<12 hex>``). A fresh ``requestId`` makes the
  POST idempotent, so it is retried like a GET. ``--env`` is refused: Temporal workflows have no
  environment.
* **wake** is unsupported: Temporal has no API to interrupt a workflow's timers.
* **config doctor**: ``GET /api/v1/system-info`` (reachable, server version ≥ :data:`MIN_SERVER_VERSION`)
  and a describe of the namespace (authorised, namespace exists).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import time
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Iterator
from urllib.parse import quote

