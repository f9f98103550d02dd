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
"""Generate a vim25 WSDL from govmomi's vim25/types/types.go and enum.go.

oslo.vmware (suds) loads the vSphere WSDL from
https://<host>:<port>/sdk/vimService.wsdl, and govmomi's simulator serves
none; vcsim-e2e serves the file this script writes. It declares every
struct of types.go as a complexType (embedded structs as bases), every
named scalar type (the enums) as a simpleType, and one document/literal
operation per ``<Method>RequestType`` alias, with its request and response
elements, messages, port type, binding and service.

Usage: python3 vim_wsdl.py [--types PATH/types.go] --output vimService.wsdl
"""

import argparse
import re
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

DEFAULT_TYPES = ('/usr/share/gocode/src/github.com/vmware/govmomi/vim25/'
                 'types/types.go')

STRUCT = re.compile(r'^type (\w+) struct \{\n(.*?)^\}', re.M | re.S)
FIELD = re.compile(r'(\w+)\s+(\S+)\s+`xml:"([^"]*)"')
EMBEDDED = re.compile(r'^\*?\w+$')
SCALAR = re.compile(r'^type (\w+) '
                    r'(string|int32|int64|int16|bool|byte|float32|float64)$',
                    re.M)
REQUEST_ALIAS = re.compile(r'^type (\w+) (\w+RequestType)$', re.M)

# Go types -> XML Schema types.
PRIMITIVES = {
    'string': 'xsd:string',
    'bool': 'xsd:boolean',
    'int32': 'xsd:int',
    'int64': 'xsd:long',
    'int16': 'xsd:short',
    'int8': 'xsd:byte',
    'byte': 'xsd:byte',
    'float32': 'xsd:float',
    'float64': 'xsd:double',
    'time.Time': 'xsd:dateTime',
    'AnyType': 'xsd:anyType',
    'interface{}': 'xsd:anyType',
}

XSD_NS = 'http://www.w3.org/2001/XMLSchema'
SOAP_ACTION = 'urn:vim25/6.5'


def parse_structs(source):
    """Return {name: (base, [(element, go type)])} in source order.

    base is the first embedded struct (None without one); fields without
    an XML element name, attributes and chardata are left out.
    """
    structs = {}
    for match in STRUCT.finditer(source):
        name, body = match.group(1), match.group(2)
        base, fields = None, []
        for line in body.splitlines():
            line = line.strip()
            if not line or line.startswith('//'):
                continue
            field = FIELD.match(line)
            if field:
                tag = field.group(3).split(',')
                if tag[0] in ('', '-') or 'attr' in tag or 'chardata' in tag:
                    continue
                fields.append((tag[0], field.group(2)))
            elif EMBEDDED.match(line):
                base = base or line.lstrip('*')
        structs[name] = (base, fields)
    return structs


def parse_scalars(source):
    """Return {name: Go scalar type} of the named scalar types (enums)."""
    return {m.group(1): m.group(2) for m in SCALAR.finditer(source)}


def parse_operations(source):
    """Return {method: request type} from the ``X XRequestType`` aliases."""
    return dict(REQUEST_ALIAS.findall(source))


def xsd_type(go_type, structs, scalars):
    """Return (XML Schema type, whether it repeats) of a Go field type."""
    many = False
    while True:
        if go_type.startswith('[]'):
            many, go_type = True, go_type[2:]
        elif go_type.startswith('*'):
            go_type = go_type[1:]
        else:
            break
    if go_type in PRIMITIVES:
        return PRIMITIVES[go_type], many
    if go_type in scalars or go_type in structs:
        return 'vim25:' + go_type, many
    # BaseX: the interface of struct X and its extensions.
    if go_type.startswith('Base') and go_type[4:] in structs:
        return 'vim25:' + go_type[4:], many
    return 'xsd:anyType', many


def schema(structs, scalars, operations):
    """Return the lines of the urn:vim25 schema."""
    lines = [
        '<types><schema targetNamespace="urn:vim25" xmlns="%s" '
        'xmlns:vim25="urn:vim25" xmlns:xsd="%s" '
        'elementFormDefault="qualified">' % (XSD_NS, XSD_NS),
        '<complexType name="ManagedObjectReference"><simpleContent>'
        '<extension base="xsd:string">'
        '<attribute name="type" type="xsd:string"/>'
        '</extension></simpleContent></complexType>',
    ]
    for name, go_type in scalars.items():
        lines.append('<simpleType name="%s"><restriction base="%s"/>'
                     '</simpleType>'
                     % (name, PRIMITIVES.get(go_type, 'xsd:string')))
    for name, (base, fields) in structs.items():
        if name == 'ManagedObjectReference':
            continue
        elements = []
        for element, go_type in fields:
            xsd, many = xsd_type(go_type, structs, scalars)
            elements.append('<element name=%s type="%s" minOccurs="0"%s/>' % (
                quoteattr(element), xsd,
                ' maxOccurs="unbounded"' if many else ''))
        sequence = '<sequence>%s</sequence>' % ''.join(elements)
        if base and base in structs:
            lines.append('<complexType name="%s"><complexContent>'
                         '<extension base="vim25:%s">%s</extension>'
                         '</complexContent></complexType>'
                         % (name, base, sequence))
        else:
            lines.append('<complexType name="%s">%s</complexType>'
                         % (name, sequence))
    for op in operations:
        lines.append('<element name="%s" type="vim25:%s"/>'
                     % (op, operations[op]))
        if op + 'Response' in structs:
            lines.append('<element name="%sResponse" '
                         'type="vim25:%sResponse"/>' % (op, op))
        else:
            lines.append('<element name="%sResponse"><complexType>'
                         '<sequence/></complexType></element>' % op)
    lines.append('</schema></types>')
    return lines


def service(operations):
    """Return the lines of the messages, port type, binding and service."""
    lines = []
    for op in operations:
        lines.append('<message name="%sRequestMsg"><part name="parameters" '
                     'element="vim25:%s"/></message>' % (op, op))
        lines.append('<message name="%sResponseMsg"><part name="parameters" '
                     'element="vim25:%sResponse"/></message>' % (op, op))
    lines.append('<portType name="VimPortType">')
    for op in operations:
        lines.append('<operation name="%s">'
                     '<input message="vim25:%sRequestMsg"/>'
                     '<output message="vim25:%sResponseMsg"/></operation>'
                     % (op, op, op))
    lines.append('</portType>')
    lines.append('<binding name="VimBinding" type="vim25:VimPortType">'
                 '<soap:binding style="document" '
                 'transport="http://schemas.xmlsoap.org/soap/http"/>')
    for op in operations:
        lines.append('<operation name="%s">'
                     '<soap:operation soapAction="%s"/>'
                     '<input><soap:body use="literal"/></input>'
                     '<output><soap:body use="literal"/></output>'
                     '</operation>' % (op, SOAP_ACTION))
    lines.append('</binding>')
    lines.append('<service name="VimService">'
                 '<port binding="vim25:VimBinding" name="VimPort">'
                 '<soap:address location="https://localhost/sdk/vimService"/>'
                 '</port></service>')
    return lines


def wsdl(types_source, enum_source):
    """Return the WSDL text and (structs, scalar types, operations) counts."""
    structs = parse_structs(types_source)
    scalars = parse_scalars(types_source + enum_source)
    aliases = parse_operations(types_source)
    operations = {op: aliases[op] for op in sorted(aliases)
                  if aliases[op] in structs}
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<definitions targetNamespace="urn:vim25" '
        'xmlns="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
        'xmlns:vim25="urn:vim25" xmlns:xsd="%s">' % XSD_NS,
        *schema(structs, scalars, operations),
        *service(operations),
        '</definitions>',
    ]
    return '\n'.join(lines), (len(structs), len(scalars), len(operations))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate a vim25 WSDL from govmomi\'s types.go (and '
                    'the enum.go next to it).')
    parser.add_argument('--types', type=Path, default=Path(DEFAULT_TYPES),
                        help='govmomi vim25/types/types.go '
                             '(default: %(default)s)')
    parser.add_argument('--output', type=Path, required=True,
                        help='the WSDL file to write')
    args = parser.parse_args(argv)

    types_source = args.types.read_text()
    enum_source = args.types.with_name('enum.go').read_text()
    text, (structs, scalars, operations) = wsdl(types_source, enum_source)
    args.output.write_text(text)
    print('%s: %d types, %d enums, %d operations'
          % (args.output, structs, scalars, operations))
    return 0


if __name__ == '__main__':
    sys.exit(main())
