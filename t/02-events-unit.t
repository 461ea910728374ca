#!/bin/sh
# Unit tests of the event ring and its subscribers: see t/unit_events.c.
exec "$(dirname "$0")/unit_events"
