"""One module per command. Each exposes ``register(app)``; bodies stay thin: check the arguments, ask the
runtime for the backend, call it, hand the result to the renderer (which owns the terminal).

Shared code lives in two modules, so that no command module imports another: :mod:`wfctl.commands.options`
declares the options and arguments several commands take (and the help layout), :mod:`wfctl.commands.common`
holds what several commands do (the runtime, waiting for runs, confirming a bulk operation).
"""
