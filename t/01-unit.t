#!/bin/sh
# Unit tests of the pure functions (size suffixes, UUID format, signal
# names, the hash map, /proc parsers): see t/unit.c.
exec "$(dirname "$0")/unit"
