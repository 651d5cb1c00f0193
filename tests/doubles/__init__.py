"""What the tests talk to instead of a user's engine (CONTRIBUTING.md, "Tests"):

* the in-memory backend: ``memory_backend`` (the ``memory_world`` fixture registers it);
* contract fakes served over real HTTP, for engines that cannot run here: ``flue_server``, ``vercel_world``,
  ``workflow_runs``;
* real peers, started on 127.0.0.1 on free ports and stopped by PID: ``wfapp`` (the Workflow SDK example apps),
  ``pg_peer`` (PostgreSQL), ``temporal_peer`` (the Temporal dev server and a worker), ``ds_server`` (the Durable
  Streams reference server), ``flue_peer`` (a real Flue server);
* ``fault_proxy`` (a TCP proxy that injects faults), ``net`` (free ports, waiting on conditions).
"""
