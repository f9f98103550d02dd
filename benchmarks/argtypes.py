#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
"""Argument types of the benchmark scripts: a bad value is a usage error
(exit 2, naming it), never a traceback. Standard library only, so that
``watcher_compare.py`` can use it in Watcher's own virtualenv."""

import argparse
import math

#: beyond this, a count is a typing error, not a benchmark
MAX_COUNT = 10_000_000


def count(minimum=1, maximum=MAX_COUNT):
    """A whole number from ``minimum`` to ``maximum``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f'{text!r}: expected a whole number from {minimum} to '
                f'{maximum:,}')
        return value
    return parse


def number(minimum=0.0, maximum=math.inf, above=False):
    """A finite number from ``minimum`` (excluded with ``above``) to
    ``maximum``."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        low_ok = value > minimum if above else value >= minimum
        if not (math.isfinite(value) and low_ok and value <= maximum):
            bound = (f'above {minimum:g}' if above
                     else f'from {minimum:g}')
            top = '' if maximum == math.inf else f' to {maximum:g}'
            raise argparse.ArgumentTypeError(
                f'{text!r}: expected a number {bound}{top}')
        return value
    return parse
