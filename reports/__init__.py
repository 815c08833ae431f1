"""The owner's desk: reports composed from every app's figures, CSV exports, backups.

The top of the stack (docs/architecture.md §Layers): it reads every app through its selectors and nothing
imports it.
"""
