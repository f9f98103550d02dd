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
"""The sdist and the wheel, as a distribution packager gets them.

Both are built with ``python -m build --no-isolation`` (the Python
environment of the tests, so no index is needed) from a throwaway source
tree in a temporary directory, never from the tree under test: pbr writes
AUTHORS, ChangeLog and ``*.egg-info`` where it builds, and the version is
tagged there.

The throwaway tree must carry git metadata (pbr takes the version from git
tags and the sdist's file list from ``git ls-files``) and it must be what a
commit of the working tree would be, so that changes are checked before they
are committed. It is a ``git clone --no-tags`` of the tree under test (the
committed history, without tags that would make the untagged version depend
on where HEAD is), overlaid with the working tree's files as git sees them
(``git ls-files --cached --others --exclude-standard``: tracked and new
files, nothing ignored such as .venv) and ``git add -A``: new files are in
the index pbr reads, deleted ones are gone. In CI's clean clone the overlay
changes nothing. Only the throwaway clone is tagged or staged; the tree
under test and its git state are never touched. Without git metadata (an
unpacked sdist) the tests are skipped.

Three builds in all, one per module-scoped fixture: the sdist and the wheel
untagged, both again with an annotated tag 1.2.3, and a wheel from the
unpacked untagged sdist, as a distribution builds it (no git at all).
Select them with ``-m packaging``.
"""

import ast
import configparser
import dataclasses
import email.parser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = 'nova_scale_ext'
DRIVER_PACKAGE = 'nova/virt/scale_ext/'
TAG = '1.2.3'


@dataclasses.dataclass
class Artifacts:
    """An sdist and a wheel built from one source tree."""

    source: Path
    sdist: Path
    wheel: Path
    wheel_files: dict[str, bytes] = dataclasses.field(repr=False)
    sdist_files: set[str] = dataclasses.field(repr=False)
    sdist_pkg_info: str = dataclasses.field(repr=False)

    @property
    def dist_info(self):
        [name] = {f.split('/', 1)[0] for f in self.wheel_files
                  if f.split('/', 1)[0].endswith('.dist-info')}
        return name

    def wheel_text(self, name):
        return self.wheel_files[f'{self.dist_info}/{name}'].decode()

    @property
    def metadata(self):
        return email.parser.Parser().parsestr(self.wheel_text('METADATA'))


def _run(cmd, cwd, env=None):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, (
        f'{" ".join(map(str, cmd))} failed in {cwd}:\n'
        f'{result.stdout[-4000:]}\n{result.stderr[-4000:]}')
    return result.stdout


def _isolated_env(tmp):
    """Git and pbr see only the throwaway tree, not the user's settings."""
    env = {k: v for k, v in os.environ.items() if k != 'PBR_VERSION'}
    env.update(GIT_CONFIG_NOSYSTEM='1', GIT_CONFIG_GLOBAL=os.devnull,
               GIT_CEILING_DIRECTORIES=str(tmp))
    return env


def _git_files(tree, *options):
    out = _run(['git', 'ls-files', '-z', *options], cwd=tree)
    return sorted({f for f in out.split('\0') if f})


@pytest.fixture(scope='module')
def _git_checkout():
    if shutil.which('git') is None:
        pytest.skip('git is not installed; pbr needs git metadata to build')
    top = subprocess.run(['git', 'rev-parse', '--show-toplevel'], cwd=ROOT,
                         capture_output=True, text=True)
    if top.returncode or Path(top.stdout.strip()).resolve() != ROOT:
        pytest.skip(f'{ROOT} is not a git checkout (an unpacked sdist?); '
                    'pbr needs git metadata to build the artifacts')
    for module in ('build', 'twine'):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f'the packaging tests need "{module}" '
                        '(see test-requirements.txt)')


def _source_tree(tmp):
    """A clone of ROOT with the working tree's files, staged (see above)."""
    src = tmp / 'src'
    _run(['git', 'clone', '--quiet', '--no-tags', str(ROOT), str(src)],
         cwd=tmp)
    for name in _git_files(ROOT, '--cached', '--others',
                           '--exclude-standard'):
        origin, copy = ROOT / name, src / name
        if origin.is_symlink() or origin.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            if copy.is_symlink() or copy.exists():
                copy.unlink()
            shutil.copy2(origin, copy, follow_symlinks=False)
        elif not origin.exists() and (copy.is_symlink() or copy.exists()):
            copy.unlink()
    env = _isolated_env(tmp)
    _run(['git', 'add', '-A'], cwd=src, env=env)
    _run(['git', 'config', 'user.email', 'packaging-test@example.org'],
         cwd=src, env=env)
    _run(['git', 'config', 'user.name', 'Packaging Test'], cwd=src, env=env)
    return src


def _build(src, outdir, *kinds):
    _run([sys.executable, '-m', 'build', '--no-isolation',
          *(f'--{kind}' for kind in kinds), '--outdir', str(outdir), '.'],
         cwd=src, env=_isolated_env(src.parent))


def _load(src, outdir):
    [sdist] = outdir.glob('*.tar.gz')
    [wheel] = outdir.glob('*.whl')
    with zipfile.ZipFile(wheel) as zf:
        wheel_files = {name: zf.read(name) for name in zf.namelist()}
    with tarfile.open(sdist) as tf:
        members = [m for m in tf.getmembers() if m.isfile()]
        top = {m.name.split('/', 1)[0] for m in members}
        assert len(top) == 1, f'the sdist has several top directories: {top}'
        [pkg_info] = [m for m in members if m.name.count('/') == 1
                      and m.name.endswith('/PKG-INFO')]
        pkg_info_text = tf.extractfile(pkg_info).read().decode()
        sdist_files = {m.name.split('/', 1)[1] for m in members}
    return Artifacts(src, sdist, wheel, wheel_files, sdist_files,
                     pkg_info_text)


@pytest.fixture(scope='module')
def untagged(_git_checkout, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('untagged')
    src = _source_tree(tmp)
    _build(src, tmp / 'dist', 'sdist', 'wheel')
    return _load(src, tmp / 'dist')


@pytest.fixture(scope='module')
def tagged(_git_checkout, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('tagged')
    src = _source_tree(tmp)
    _run(['git', 'tag', '-a', TAG, '-m', f'nova-scale-ext {TAG}'], cwd=src,
         env=_isolated_env(tmp))
    _build(src, tmp / 'dist', 'sdist', 'wheel')
    return _load(src, tmp / 'dist')


@pytest.fixture(scope='module')
def wheel_from_sdist(untagged, tmp_path_factory):
    """The wheel a distribution builds from the unpacked sdist (no git)."""
    tmp = tmp_path_factory.mktemp('from-sdist')
    # Extraction filters came with 3.11.4 (and as security fixes before).
    safe = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}
    with tarfile.open(untagged.sdist) as tf:
        tf.extractall(tmp / 'unpacked', **safe)
    [src] = (tmp / 'unpacked').iterdir()
    _build(src, tmp / 'dist', 'wheel')
    [wheel] = (tmp / 'dist').glob('*.whl')
    with zipfile.ZipFile(wheel) as zf:
        return wheel.name, sorted(zf.namelist())


def _entry_points_of_setup_cfg(src):
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.optionxform = str
    cfg.read(src / 'setup.cfg')
    return {group: dict(_split_entry(line)
                        for line in value.splitlines() if line.strip())
            for group, value in cfg['entry_points'].items()}


def _split_entry(line):
    name, target = line.split('=', 1)
    return name.strip(), target.strip()


def _entry_points_of_wheel(artifacts):
    cfg = configparser.ConfigParser(interpolation=None, delimiters=('=',))
    cfg.optionxform = str
    cfg.read_string(artifacts.wheel_text('entry_points.txt'))
    return {group: dict(cfg[group]) for group in cfg.sections()}


def _requirement_names(path):
    lines = (line.split('#', 1)[0].strip()
             for line in path.read_text().splitlines())
    return {canonicalize_name(Requirement(line).name)
            for line in lines if line and not line.startswith('-')}


# Twine: what PyPI would accept.

def test_twine_check_passes_on_the_sdist_and_the_wheel(untagged, tagged):
    _run([sys.executable, '-m', 'twine', 'check', '--strict',
          untagged.sdist, untagged.wheel, tagged.sdist, tagged.wheel],
         cwd=untagged.source.parent)


# The wheel: our packages, nova/virt/scale_ext, and nothing of Nova's.

def test_wheel_ships_every_file_of_the_packages(untagged):
    """Each subpackage is listed from the source tree, new ones included."""
    expected = set(_git_files(untagged.source, PACKAGE, DRIVER_PACKAGE))
    shipped = {f for f in untagged.wheel_files
               if f.startswith((f'{PACKAGE}/', DRIVER_PACKAGE))}
    assert f'{PACKAGE}/__init__.py' in expected
    assert f'{DRIVER_PACKAGE}__init__.py' in expected
    assert sorted(expected - shipped) == []
    assert sorted(shipped - expected) == []


def test_wheel_does_not_ship_novas_packages_tests_or_benchmarks(untagged):
    files = untagged.wheel_files
    assert 'nova/__init__.py' not in files
    assert 'nova/virt/__init__.py' not in files
    assert not [f for f in files if f.startswith(('tests/', 'benchmarks/'))]
    stray = [f for f in files
             if not f.startswith((f'{PACKAGE}/', DRIVER_PACKAGE,
                                  f'{untagged.dist_info}/'))]
    assert stray == []


def test_wheel_declares_the_entry_points_of_setup_cfg(untagged):
    declared = _entry_points_of_wheel(untagged)
    assert declared == _entry_points_of_setup_cfg(untagged.source)
    assert declared['console_scripts']['nova-scale-ext'] == (
        'nova_scale_ext.cmd.main:main')
    assert declared['oslo.config.opts'] == {
        'nova_scale_ext': 'nova_scale_ext.conf:list_opts'}
    assert declared['nova.api.extra_spec_validators'] == {
        'scale_ext': 'nova_scale_ext.virt.extra_specs'}
    assert declared['nova_scale_ext.scheduler.filters']
    assert declared['nova_scale_ext.scheduler.weights']


def test_every_entry_point_names_code_in_the_wheel(untagged):
    missing = []
    for group, entries in _entry_points_of_wheel(untagged).items():
        for name, target in entries.items():
            module, _, attr = target.partition(':')
            path = module.replace('.', '/')
            source = (untagged.wheel_files.get(f'{path}.py')
                      or untagged.wheel_files.get(f'{path}/__init__.py'))
            if source is None:
                missing.append(f'[{group}] {name}: no module {module}')
            elif attr and attr not in _top_level_names(source):
                missing.append(f'[{group}] {name}: {module} has no {attr}')
    assert missing == []


def _top_level_names(source):
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets
                         if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split('.')[0]
                         for a in node.names)
    return names


def test_wheel_requires_python_3_11_and_declares_3_11_to_3_13(untagged):
    metadata = untagged.metadata
    requires_python = SpecifierSet(metadata['Requires-Python'])
    assert str(requires_python) == '>=3.11'
    assert '3.10' not in requires_python
    classifiers = metadata.get_all('Classifier')
    for minor in ('3.11', '3.12', '3.13'):
        assert f'Programming Language :: Python :: {minor}' in classifiers


def test_wheel_requires_requirements_txt_and_nova_only_as_an_extra(untagged):
    """pbr also turns test-requirements.txt into a ``test`` extra."""
    requirements = [Requirement(r)
                    for r in untagged.metadata.get_all('Requires-Dist')]
    unconditional = {canonicalize_name(r.name) for r in requirements
                     if r.marker is None}
    assert unconditional == _requirement_names(
        untagged.source / 'requirements.txt')
    assert 'nova' not in unconditional
    nova = [r for r in requirements if canonicalize_name(r.name) == 'nova']
    assert any(r.marker.evaluate({'extra': 'nova'}) for r in nova)
    assert not any(r.marker.evaluate({'extra': ''}) for r in nova)
    assert {'capacity', 'nova', 'plot'} <= set(
        untagged.metadata.get_all('Provides-Extra'))


# The sdist: everything to build, test and document the package.

def test_sdist_holds_every_file_of_the_repository(untagged):
    """All but git's own .gitignore, which pbr leaves out."""
    tracked = set(_git_files(untagged.source)) - {'.gitignore'}
    assert sorted(tracked - untagged.sdist_files) == []


def test_sdist_holds_what_a_distribution_needs(untagged):
    files = untagged.sdist_files
    needed = ['setup.cfg', 'setup.py', 'pyproject.toml', 'requirements.txt',
              'test-requirements.txt', 'doc/requirements.txt',
              'doc/source/conf.py', 'doc/source/index.rst',
              'releasenotes/source/conf.py',
              'etc/oslo-config-generator/nova-scale-ext.conf',
              'devstack/plugin.sh', 'devstack/settings', 'tools/test.sh',
              'tests/__init__.py', 'tests/conftest.py', 'LICENSE',
              'README.md', 'PKG-INFO', f'{DRIVER_PACKAGE}__init__.py']
    assert [f for f in needed if f not in files] == []
    for prefix, suffix in (('doc/source/', '.rst'),
                           ('releasenotes/notes/', '.yaml'),
                           ('tests/packaging/', '.py')):
        assert [f for f in files
                if f.startswith(prefix) and f.endswith(suffix)], prefix


def test_sdist_holds_authors_and_changelog_from_git(untagged):
    """pbr writes them from the git history; they are not in git."""
    for name in ('AUTHORS', 'ChangeLog'):
        assert name in untagged.sdist_files
        assert name not in _git_files(untagged.source)
    with tarfile.open(untagged.sdist) as tf:
        [changelog] = [m for m in tf.getmembers()
                       if m.name.endswith('/ChangeLog')
                       and m.name.count('/') == 1]
        assert 'CHANGES' in tf.extractfile(changelog).read().decode()


def test_wheel_built_from_the_sdist_is_the_same_wheel(untagged,
                                                      wheel_from_sdist):
    name, files = wheel_from_sdist
    assert name == untagged.wheel.name
    assert files == sorted(untagged.wheel_files)


# The version: pbr, from the git tag.

def test_tagged_build_has_the_tag_as_version(tagged):
    assert re.fullmatch(rf'nova[-_]scale[-_]ext-{re.escape(TAG)}\.tar\.gz',
                        tagged.sdist.name)
    assert tagged.wheel.name == f'nova_scale_ext-{TAG}-py3-none-any.whl'
    assert tagged.metadata['Version'] == TAG
    sdist_metadata = email.parser.Parser().parsestr(tagged.sdist_pkg_info)
    assert sdist_metadata['Version'] == TAG
    assert json.loads(tagged.wheel_text('pbr.json'))['is_release'] is True


def test_untagged_build_is_a_dev_version_counting_commits(untagged):
    """pbr without a tag: 0.0.1.devN, N the commits after the first one.

    (A ``Sem-Ver:`` line in a commit message would raise the 0.0.1.)
    """
    src = untagged.source
    commits = int(_run(['git', 'rev-list', '--count', 'HEAD'], cwd=src))
    head = _run(['git', 'rev-parse', 'HEAD'], cwd=src).strip()
    version = Version(untagged.metadata['Version'])
    assert version.is_devrelease
    assert version < Version(TAG)
    assert str(version) == f'0.0.1.dev{commits - 1}'
    assert f'-{version}' in untagged.sdist.name
    pbr = json.loads(untagged.wheel_text('pbr.json'))
    assert pbr['is_release'] is False
    assert head.startswith(pbr['git_version'])
