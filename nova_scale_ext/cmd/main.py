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
"""The ``nova-scale-ext`` command."""

import argparse
import os
import sys
import warnings

from nova_scale_ext.cmd import (
    audit,
    capacity,
    defrag,
    plugins,
    simulate,
    snapshot,
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='nova-scale-ext',
        description='Tools of nova-scale-ext, the packing extension for '
                    'OpenStack Nova.')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    plugins.add_parser(subparsers)
    simulate.add_parser(subparsers)
    capacity.add_parser(subparsers)
    snapshot.add_parser(subparsers)
    defrag.add_parser(subparsers)
    audit.add_parser(subparsers)
    return parser


def main(argv=None):
    # Nova's dependencies warn on import about eventlet; not our user's issue.
    warnings.filterwarnings('ignore', message=r'(?s).*[Ee]ventlet')
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, 'func', None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): nothing more to say to it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == '__main__':
    sys.exit(main())
