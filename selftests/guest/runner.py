# SPDX-License-Identifier: GPL-2.0
"""Entry point: python3 runner.py [-l] [-v] [REGEX...] (see run.sh)."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

sys.exit(harness.main(sys.argv[1:]))
