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
"""Test set-up shared by all tests: Nova objects, paths, harness fixes and
libvirt's domain schema."""

import os
import sys

import pytest

# Nova's functional harness looks for api-paste.ini under state_path; point it
# at the copy the nova wheel installs into the environment.
_PASTE = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')
if os.path.exists(_PASTE):
    os.environ.setdefault('OS_WSGI__API_PASTE_CONFIG', _PASTE)

try:
    import hypothesis
except ImportError:  # pragma: no cover - only without the test requirements
    pass
else:
    # In CI the property tests draw the same examples on every run (a
    # change, not the luck of the draw, turns them red); elsewhere they
    # explore afresh each time.
    hypothesis.settings.register_profile('ci', derandomize=True,
                                         database=None)
    if os.environ.get('CI'):
        hypothesis.settings.load_profile('ci')

try:
    from nova import objects
    from nova import test as nova_test
except ImportError:  # pragma: no cover - only without Nova installed
    nova_test = None
else:
    objects.register_all()

    # pytest (>= 8.2) deletes the test method attribute after a test, but
    # nova.test.TestCase._clear_attrs has already deleted it: keep it.
    _orig_clear_attrs = nova_test.TestCase._clear_attrs

    def _clear_attrs_keeping_test_method(self):
        name = getattr(self, '_testMethodName', None)
        method = self.__dict__.get(name) if name else None
        _orig_clear_attrs(self)
        if method is not None:
            self.__dict__[name] = method

    nova_test.TestCase._clear_attrs = _clear_attrs_keeping_test_method


@pytest.fixture(autouse=True)
def _fresh_log_once():
    """Each test sees 'logged once' warnings afresh."""
    from nova_scale_ext import common
    common.once.reset()
    yield


@pytest.fixture(scope='session')
def libvirt_schema():
    """libvirt's own domain schema (``schema.DomainSchema``), compiled once;
    skips, or fails in CI, where libvirt is not installed."""
    from tests.unit.virt import domains
    return domains.libvirt_schema()


#: Modules whose tests stay together in one shard: they share what a module
#: fixture builds (the artifacts) or a real daemon (libvirtd's huge pages).
_WHOLE_MODULE_MARKS = ('libvirtd', 'packaging')


def _shard():
    """``(index, count)`` from ``NOVA_SCALE_EXT_SHARD=I/N`` (tools/test.sh
    runs N pytest processes side by side, one per core); ``None`` if unset.
    """
    text = os.environ.get('NOVA_SCALE_EXT_SHARD', '').strip()
    if not text:
        return None
    index, _, count = text.partition('/')
    try:
        index, count = int(index), int(count)
    except ValueError:
        index = count = -1
    if not 0 <= index < count <= 64:
        raise pytest.UsageError(
            f'NOVA_SCALE_EXT_SHARD={text!r}: expected I/N with '
            '0 <= I < N <= 64, e.g. 0/2')
    return index, count


def pytest_configure(config):
    _shard()  # a bad NOVA_SCALE_EXT_SHARD stops the run before collection


def pytest_collection_modifyitems(config, items):
    """Keep this shard's share of the tests: every N-th test in collection
    order (so each shard gets some of every slow parametrised test), whole
    modules for those marked ``libvirtd`` or ``packaging``."""
    shard = _shard()
    if shard is None:
        return
    index, count = shard
    module_shard = {}
    kept, dropped = [], []
    for position, item in enumerate(items):
        if any(item.get_closest_marker(m) for m in _WHOLE_MODULE_MARKS):
            owner = module_shard.setdefault(item.nodeid.split('::')[0],
                                            position % count)
        else:
            owner = position % count
        (kept if owner == index else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
