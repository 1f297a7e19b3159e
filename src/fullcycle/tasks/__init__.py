"""Task kinds: one folder per kind of problem, each exporting one `TaskKind` subclass (see
fullcycle/taskkind.py for the protocol and the registry). Nothing here is imported eagerly:
`taskkind.BUILTIN` names the classes and loads them on first use."""
