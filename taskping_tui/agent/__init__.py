"""Knowing what the hosted agent is doing: Claude Code hooks, the socket they report to, the state machine.

Kept free of imports on purpose: ``taskping-tui hook`` imports ``taskping_tui.agent.hook_client`` once per
hook call and must start fast.
"""
