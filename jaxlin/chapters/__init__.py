"""Layer 4, chapter content: one module per book section that needs more than its script,
named after it (``ch4_09_environment_and_distribution_shift`` serves
``scripts/ch4_09_environment_and_distribution_shift.py``). No other module imports these.
"""
