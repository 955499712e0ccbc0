"""Textual-free orchestration: the per-session agent link, the shared mail link and the notification fan-out.

The main screen drives these with method calls and they report back through callbacks and small view
protocols, so unit tests run them with fakes. Nothing in this package imports Textual.
"""
