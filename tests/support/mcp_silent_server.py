"""An "MCP server" that reads stdin forever and never answers: the hang case."""

import sys
import time

if __name__ == "__main__":
    for _line in sys.stdin:
        time.sleep(0)
    time.sleep(3600)  # stdin closed: keep hanging until killed
