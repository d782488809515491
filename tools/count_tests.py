#!/usr/bin/env python3
"""Counts test cases from the JUnit XML files Bazel writes for the given test targets.

Usage: count_tests.py TESTLOGS_DIR LABEL [LABEL ...]
Prints "N M" (passed, failed). Only the named targets' current results are read, so stale
logs of removed targets do not count. A target that left no per-case results (it did not
build, crashed before writing them, or timed out) counts as one failed case.
"""
import os
import sys
import xml.etree.ElementTree as ET


def count_target(testlogs, label):
    package, _, name = label.lstrip("@").lstrip("/").partition(":")
    path = os.path.join(testlogs, package, name, "test.xml")
    try:
        cases = list(ET.parse(path).iter("testcase"))
    except (OSError, ET.ParseError):
        return 0, 1
    cases = [c for c in cases if c.get("status", "run") != "notrun"]
    if not cases:
        return 0, 1
    failed = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
    return len(cases) - failed, failed


def main():
    testlogs, labels = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for label in labels:
        p, f = count_target(testlogs, label)
        passed += p
        failed += f
    print(passed, failed)


if __name__ == "__main__":
    main()
