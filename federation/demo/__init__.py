"""The demo legacy systems and the `federation demo` command."""
