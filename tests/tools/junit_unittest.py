"""Runs a unittest module and writes its per-case results as JUnit XML to $XML_OUTPUT_FILE,
where Bazel reads them, so that CI counts test cases rather than test binaries."""
import os
import sys
import time
import unittest
from xml.sax.saxutils import quoteattr


class _Recorder(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = []  # (name, seconds, failure text or None)
        self._started = 0.0

    def startTest(self, test):
        self._started = time.time()
        super().startTest(test)

    def _record(self, test, failure):
        self.cases.append((test.id(), time.time() - self._started, failure))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, None)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, self._exc_info_to_string(err, test))


def _cases(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _cases(test)
        else:
            yield test


def main(module_name):
    suite = unittest.defaultTestLoader.loadTestsFromName(module_name)
    # `bazel test --test_filter=TEXT` runs only the cases whose id contains TEXT.
    only = os.environ.get("TESTBRIDGE_TEST_ONLY")
    if only:
        suite = unittest.TestSuite(t for t in _cases(suite) if only in t.id())
        if suite.countTestCases() == 0:
            sys.exit("no test case of %s matches %r" % (module_name, only))
    runner = unittest.TextTestRunner(resultclass=_Recorder, verbosity=2)
    result = runner.run(suite)
    path = os.environ.get("XML_OUTPUT_FILE")
    if path:
        failures = sum(1 for c in result.cases if c[2] is not None)
        with open(path, "w") as out:
            out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            out.write('<testsuites tests="%d" failures="%d">\n' % (len(result.cases), failures))
            out.write('<testsuite name=%s tests="%d" failures="%d">\n'
                      % (quoteattr(module_name), len(result.cases), failures))
            for name, seconds, failure in result.cases:
                out.write('<testcase name=%s status="run" time="%.3f">' % (quoteattr(name), seconds))
                if failure is not None:
                    out.write('<failure message="failed">%s</failure>'
                              % failure.replace("&", "&amp;").replace("<", "&lt;"))
                out.write("</testcase>\n")
            out.write("</testsuite>\n</testsuites>\n")
    sys.exit(0 if result.wasSuccessful() else 1)
