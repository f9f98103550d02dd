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
"""Option types of our own.

oslo.config's ``Float`` accepts ``nan`` and ``inf`` (a NaN passes every
``min``/``max`` check): as a weigher multiplier or a headroom share either
silently changes every scheduling decision. Ours refuses them like any
other invalid value, and an empty value too (``Float`` reads it as None,
which no code of ours takes for a number).
"""

import math

from oslo_config import cfg, types


class FiniteFloat(types.Float):
    """A float that must be finite (and within ``min``/``max``)."""

    def __call__(self, value):
        number = super().__call__(value)
        if number is None or not math.isfinite(number):
            raise ValueError(f'{value!r} is not a finite number')
        return number


class FloatOpt(cfg.Opt):
    """``cfg.FloatOpt`` of finite values."""

    def __init__(self, name, min=None, max=None, **kwargs):
        super().__init__(name, type=FiniteFloat(min=min, max=max), **kwargs)
