"""The Workflow SDK (npm ``workflow``) worlds: local (``local``), PostgreSQL (``postgres``), Vercel (``vercel``).

``codec`` (payloads → plain JSON) is shared by all three; ``localfs`` and ``local`` are the local world.
Nothing here is imported until a command needs it (see ``wfctl.backends``).
"""
