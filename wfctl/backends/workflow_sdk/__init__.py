"""The Workflow SDK (npm ``workflow``) worlds: local (``local``), PostgreSQL (``postgres``), Vercel (``vercel``).

Shared by all three: ``values`` (devalue, format-prefixed and CBOR payloads → plain JSON), ``ids`` (ULIDs, slot
ids, run ids), ``records`` (SDK records → the run model) and ``streams`` (stream names, chunk frames);
``versions`` is the version gate. ``localfs``, ``localwrite`` and ``local`` are the local world.
Nothing here is imported until a command needs it (see ``wfctl.backends``).
"""
