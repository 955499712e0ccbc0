"""The embedded terminal: PTY child, screen emulation, key encoding and the TerminalView widget.

The model (`process`, `parser`, `screen`, `session`, `keys`, `palette`) imports no Textual; only `view`
(the widget) and `driver` (the app's input driver) do. Import the module you need: this package's
`__init__` imports nothing, so `import taskping_tui.terminal.keys` never pulls in Textual.
"""
