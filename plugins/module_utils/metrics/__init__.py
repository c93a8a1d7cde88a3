# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Metric gates: providers fetch values, one evaluator decides the verdict."""
