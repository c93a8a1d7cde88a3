# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Providers fetch a metric's values; they never decide a verdict.

Every provider has one method, fetch(), returning a list of Sample. Anything that prevents an
honest measurement (unreachable, timeout, HTTP 5xx, non-JSON, non-numeric) raises ProviderError.
"""
