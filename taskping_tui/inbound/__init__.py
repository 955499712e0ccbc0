"""The inbound security boundary: fetched mail → verdict → command → typed bytes.

In the order a reply travels: `gate` (with `auth_results` and `danger`) decides whether a mail may
command anything, `processor` records it and its verdict, `commands` is the state machine a command
moves through (and `permission` reads a reply word as an answer to a permission dialog), and `injector`
turns an approved command into the bytes typed into the agent's PTY.

No Textual imports here, and this `__init__` imports nothing, so each step can be imported and tested alone.
"""
