"""``python -m pynamo_sessions.testing fetch | run [PORT]``: fetch or run DynamoDB Local."""

import sys

from pynamo_sessions.testing import main

sys.exit(main())
