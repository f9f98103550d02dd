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
"""Validation of domain XML against libvirt's Relax-NG schema (no Nova).

``virDomainDefineXML`` without flags silently drops elements and attributes
that libvirt does not know, so a tuning that libvirt cannot express would be
lost without a word. Every domain XML the driver produces is checked here
first, with the schema of the libvirt installed on the host.
"""

import dataclasses
import threading

from lxml import etree

from nova_scale_ext.conf import libvirt as libvirt_conf

DEFAULT_SCHEMA = libvirt_conf.DEFAULT_SCHEMA_FILE

#: The packages that install libvirt's schemas (/usr/share/libvirt/schemas).
PROVIDED_BY = ('libvirt0 on Debian and Ubuntu, installed with '
               'libvirt-daemon or libvirt-clients; libvirt-libs on RHEL and '
               'Fedora')


@dataclasses.dataclass(frozen=True)
class Problem:
    """One schema violation: where and what."""

    element: str  # path of the offending element, e.g. /domain/devices/disk
    line: int
    message: str

    def __str__(self):
        return f'{self.element} (line {self.line}): {self.message}'


class SchemaUnavailable(Exception):
    """The schema file cannot be read or compiled."""

    def __init__(self, path, reason):
        super().__init__(
            f'cannot load the libvirt domain schema {path}: {reason}')
        self.path = path
        self.reason = reason


class DomainSchema:
    """libvirt's domain schema, compiled once on first use.

    lxml validators keep their error log on the object, so validation is
    serialised with a lock; it takes a few milliseconds per domain.
    """

    def __init__(self, path=DEFAULT_SCHEMA):
        self.path = path
        self._relaxng = None
        self._lock = threading.Lock()

    def load(self):
        """Compile the schema now, if not done yet.

        A schema that fails is tried again at the next call, so a schema
        installed later is picked up.

        :raises SchemaUnavailable: the file cannot be read, is not XML or is
            not a Relax-NG schema.
        """
        with self._lock:
            self._load()

    def _load(self):
        if self._relaxng is None:
            self._relaxng = _compile(self.path)
        return self._relaxng

    def problems(self, xml):
        """Schema violations of ``xml`` (a string, bytes or an element);
        an empty list when it is valid.

        :raises SchemaUnavailable: the schema cannot be loaded.
        """
        if isinstance(xml, (str, bytes)):
            try:
                doc = etree.fromstring(
                    xml.encode('utf-8') if isinstance(xml, str) else xml)
            except etree.XMLSyntaxError as exc:
                return [Problem('/', exc.lineno or 0,
                                f'not well-formed XML: {exc.msg}')]
        else:
            doc = xml
        with self._lock:
            relaxng = self._load()
            if relaxng.validate(doc):
                return []
            entries = list(relaxng.error_log)
            culprit = _culprit(relaxng, doc)
        problems = [Problem(_element_of(e), e.line, e.message)
                    for e in entries]
        if culprit is not None:
            problems.insert(0, Problem(
                culprit.getroottree().getpath(culprit),
                culprit.sourceline or 0,
                f'not allowed by the schema: {_start_tag(culprit)}'))
        return problems


def _compile(path):
    try:
        # lxml's own message repeats the path; open() says why plainly.
        with open(path, 'rb'):
            pass
        return etree.RelaxNG(etree.parse(path))
    except OSError as exc:
        raise SchemaUnavailable(path, exc.strerror or str(exc)) from exc
    except etree.XMLSyntaxError as exc:
        raise SchemaUnavailable(path, f'not well-formed XML: {exc}') from exc
    except etree.LxmlError as exc:
        raise SchemaUnavailable(
            path, f'not a usable Relax-NG schema: {exc}') from exc


def _culprit(relaxng, doc, max_elements=2000):
    """The deepest element whose removal makes ``doc`` valid, if any.

    libxml2 often reports a Relax-NG error on an ancestor ("Extra element
    devices in interleave"); removing one element at a time from a copy
    finds the element actually at fault. Only run on invalid documents.
    """
    root = doc.getroottree().getroot()
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    if len(elements) > max_elements:
        return None
    elements.sort(key=lambda e: -len(list(e.iterancestors())))
    for elem in elements:
        parent = elem.getparent()
        if parent is None:
            continue
        index = parent.index(elem)
        parent.remove(elem)
        try:
            valid = relaxng.validate(doc)
        finally:
            parent.insert(index, elem)
        if valid:
            return elem
    return None


def _start_tag(elem):
    attrs = ''.join(f' {k}="{v}"' for k, v in elem.attrib.items())
    return f'<{elem.tag}{attrs}>'


def _element_of(entry):
    """The path libxml2 reports for an error; falls back to the element
    named in the message."""
    if entry.path:
        return entry.path
    words = entry.message.split()
    if len(words) > 1 and words[0] == 'Element':
        return words[1].rstrip(':')
    return '?'


def describe(problems, limit=3):
    """One line naming the first few problems."""
    text = '; '.join(str(p) for p in problems[:limit])
    if len(problems) > limit:
        text += f'; and {len(problems) - limit} more'
    return text
